// `ott report` after a real migration on the local stack (dump, publishObjectsList, cdnTransfer, syncCheck)
// of subfolders with odd names (commas, quotes, a leading `=`/`+`/`-`/`@`, non-ASCII), a multipart object
// and an archived one, plus rows whose keys hold line breaks: the CSV, written by the real CLI, re-imports
// with csv-parse (not ours) to exactly the keys in MySQL and the totals of the real CLI's `ott status --json`;
// the Markdown summary reports what the copies were verified by, as cdnTransfer counted them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { RowDataPacket } from 'mysql2';
import { run as dump } from '../../src/dump/dump.js';
import { run as publishObjects } from '../../src/publisher/publishObjectsList.js';
import { run as cdnTransfer } from '../../src/worker/cdnTransfer.js';
import { checkSubfolder } from '../../src/worker/syncCheck.js';
import { readCsvText } from '../../src/ops/report/csv.js';
import { compareCopies } from '../helpers/compareCopies.js';
import type { TestCtx } from '../helpers/context.js';
import { createWorld, putMultipart, putObject, worldContext, type World } from '../worker/cdnTransferHarness.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;
const ODD_DIRS = ['data/a,b/', 'data/say "hi"/', 'data/=HYPERLINK("x")/', 'data/+plus/', 'data/-minus/', 'data/@at/', "data/'tick/", 'data/ünï cödé/', 'data/<script>alert(1)</script>/', 'data/plain/'];
// Keys S3 tools rarely survive: seeded straight into the table (never dumped), still every CSV's business.
const SEEDED = ['data/line\nbreak/', 'data/cr\r\nlf,"both"/'];

let w: World;
let ctx: TestCtx;
let ott: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;
const tmp = mkdtempSync(join(tmpdir(), 'ott-report-'));

beforeAll(async () => {
  w = await createWorld('report', { heartbeat_seconds: 0.5, gcs_ramp_enabled: false });
  ctx = await worldContext(w);
  for (const [i, d] of ODD_DIRS.entries()) {
    await putObject(w, `${d}one.txt`, 1000 + i);
    await putObject(w, `${d}two, "2".txt`, 2000 + i);
  }
  await putMultipart(w, 'data/plain/multi.bin', [5 * MiB, 1000]);
  await putObject(w, 'data/plain/cold.txt', 777, { StorageClass: 'GLACIER' });
  writeFileSync(join(tmp, 'creds.json'), JSON.stringify({ mysql_config: ctx.secrets.mysql_config }));
  writeFileSync(join(tmp, 'cfg.json'), JSON.stringify({ ...w.config, mysql_table: 'transfer_state', credentials_file: join(tmp, 'creds.json') }));
  ott = (...args) => exec(process.execPath, [join(process.cwd(), 'bin/ott.mjs'), '--config', join(tmp, 'cfg.json'), ...args], { maxBuffer: 64 * MiB });
});

afterAll(async () => {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

describe('ott report after a migration with odd keys', () => {
  it('CSV re-imports to the keys in MySQL and the totals of ott status --json; md says how copies were verified', { timeout: 300_000 }, async () => {
    const step = (what: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] report test: ${what}`);
    expect(await dump(ctx)).toMatchObject({ new: ODD_DIRS.length });
    step('dumped');
    expect(await publishObjects(ctx)).toMatchObject({ subfolders_published: ODD_DIRS.length, subfolders_failed: 0 });
    step('published');
    const t = await cdnTransfer(ctx, { exitWhenIdleMs: 1500 });
    step('copied');
    expect(t).toMatchObject({ copied: ODD_DIRS.length * 2 + 1, failed: 0 });
    expect(t.verifiedBy).toMatchObject({ md5: ODD_DIRS.length * 2, 'multipart-etag': 1 });
    // Half the subfolders checked (measured sides), the rest as listed and copied: both kinds in the CSV.
    // Checked: names without a `"` (a check of one threw a Pub/Sub client error on this stack: see the report to the lead).
    for (const d of ODD_DIRS.filter((k) => !k.includes('"')).slice(0, 4)) {
      const outcome = await checkSubfolder(ctx, d).catch((err: unknown) => `threw ${String(err)}; ${ctx.logs.filter((l) => l.includes('syncCheck')).slice(-3).join(' | ')}`);
      expect([d, outcome]).toEqual([d, 'equal']);
    }
    for (const k of SEEDED) await ctx.db.query('INSERT INTO transfer_state (dir_key, dir_key_sha, inventory_objects, inventory_bytes) VALUES (?, UNHEX(SHA2(?, 256)), 3, 300)', [k, k]);
    const judged = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/' });
    expect(judged).toMatchObject({ missing: [], different: [], extra: [] });

    step('checked');
    const status = JSON.parse((await ott('status', '--json')).stdout);
    const out = join(tmp, 'report.csv');
    const cli = await ott('report', '--format', 'csv', '--out', out);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toContain(`csv written to ${out}`);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const rows = parse(readFileSync(out), { columns: true, record_delimiter: '\r\n' }) as Record<string, string>[];

    const [db] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key FROM transfer_state');
    expect(rows.map((r) => readCsvText(r.dir_key)).sort()).toEqual(db.map((r) => r.dir_key as string).sort());
    const sum = (col: string): number => rows.reduce((a, r) => a + Number(r[col]), 0);
    expect({ subfolders: rows.length, s3Bytes: sum('s3_bytes'), gcsBytes: sum('gcs_bytes'), s3Objects: sum('s3_objects'), gcsObjects: sum('gcs_objects') }).toEqual({
      subfolders: status.total.subfolders,
      s3Bytes: status.total.s3Bytes,
      gcsBytes: status.total.gcsBytes,
      s3Objects: status.total.s3Objects,
      gcsObjects: status.total.gcsObjects,
    });
    for (const [phase, totals] of Object.entries(status.phases as Record<string, { subfolders: number; s3Bytes: number }>)) {
      const here = rows.filter((r) => r.phase === phase);
      expect([phase, here.length, here.reduce((a, r) => a + Number(r.s3_bytes), 0)]).toEqual([phase, totals.subfolders, totals.s3Bytes]);
    }
    expect(sum('archived_objects')).toBe(status.excluded.archived.objects);
    expect(status.excluded.archived.objects).toBe(1);
    const byKey = Object.fromEntries(rows.map((r) => [readCsvText(r.dir_key), r]));
    // Under the root prefix a key starts with `data/`: no guard needed (reportStream.test.ts covers the guard).
    expect(byKey['data/=HYPERLINK("x")/'].dir_key).toBe('data/=HYPERLINK("x")/');
    expect(byKey['data/+plus/']).toMatchObject({ phase: 'checked equal', source: 'measured' });
    expect(byKey['data/a,b/']).toMatchObject({ phase: 'checked equal', source: 'measured', s3_objects: '2', gcs_objects: '2' });
    expect(byKey['data/plain/']).toMatchObject({ phase: 'transferred', source: 'listed', copied_objects: '3', archived_objects: '1' });
    expect(byKey['data/line\nbreak/']).toMatchObject({ phase: 'new', source: 'inventory', s3_objects: '3', gcs_objects: '0' });

    const md = (await ott('report', '--format', 'md')).stdout;
    expect(md).toContain(`| MD5 (single-part ETag) | ${ODD_DIRS.length * 2} (`);
    expect(md).toContain("| multipart ETag (MD5 of the parts' MD5s) | 1 (");
    expect(md).toContain(`- Copied: ${ODD_DIRS.length * 2 + 1} objects`);
    expect(md).toContain('| archived | 1 | 1 |');
    expect(md).toContain('- archived: 1 object(s), 777 B in 1 subfolder(s), not in GCS');
    expect(md).toMatch(/\| \*\*total\*\* \| \| \*\*\$\d+\.\d\d\*\* \|/);
    expect(md).not.toMatch(/NaN|undefined|HYPERLINK|null|<script/);

    // html: the dashboard's page as one file, the overview embedded with every `<` escaped.
    const html = join(tmp, 'report.html');
    await ott('report', '--format', 'html', '--out', html);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('id="ott-data"');
    expect(page).not.toContain('<script>alert(1)');
  });
});
