// dump against the real stack: from S3 and from an `aws s3 ls` file, initial then delta, odd names.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run } from '../../src/dump/dump.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext } from '../helpers/context.js';
import { lockDump, unlockDump } from '../../src/state/dump.js';

const s3 = makeS3Client();
const bucket = uniqueName('dump');
const dir = mkdtempSync(join(tmpdir(), 'ott-dump-'));
const SUBFOLDERS = ['data/A/', 'data/a/', 'data/nested/', 'data/only-subs/', 'data/space dir/', 'data/plus+dir/', 'data/pct%20dir/', 'data/unicodé-日本/'];
// data/root-object.txt lies directly under the root: the root row, s3_root_prefix itself, holds it.
const ROWS = [...SUBFOLDERS, 'data/'];

async function put(key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
}

async function dirKeys(ctx: Awaited<ReturnType<typeof testContext>>): Promise<RowDataPacket[]> {
  const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key, initial_transfer, cdn_transfer_published FROM transfer_state ORDER BY dir_key');
  return rows;
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const d of SUBFOLDERS) await put(d === 'data/only-subs/' ? `${d}inner/deeper/x` : d === 'data/nested/' ? `${d}a/b/c.txt` : `${d}file.txt`);
  await put('data/root-object.txt'); // an object at the root is no subfolder: it makes the root row
});

describe('dump', () => {
  it('loads every subfolder from S3, then only the new ones, reporting vanished ones', async () => {
    const ctx = await testContext('dump', { s3_bucket: bucket, s3_root_prefix: 'data/' });
    const first = await run(ctx, { batchSize: 3 });
    expect(first).toMatchObject({ scanned: ROWS.length, new: ROWS.length, existing: 0, vanished: 0, badLines: 0 });
    const rows = await dirKeys(ctx);
    expect(rows.map((r) => r.dir_key).sort()).toEqual([...ROWS].sort());
    expect(rows.every((r) => r.initial_transfer === 1 && r.cdn_transfer_published === 0)).toBe(true);

    // Mark one as published: a delta run must not touch it.
    await ctx.db.query('UPDATE transfer_state SET cdn_transfer_published = TRUE, initial_transfer = FALSE WHERE dir_key = ?', ['data/A/']);
    const again = await run(ctx);
    expect(again).toMatchObject({ scanned: ROWS.length, new: 0, existing: ROWS.length, vanished: 0 });

    await put('data/new-one/x');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/plus+dir/file.txt' }));
    const delta = await run(ctx);
    expect(delta).toMatchObject({ new: 1, existing: ROWS.length - 1, vanished: 1, vanishedSample: ['data/plus+dir/'] });
    const after = await dirKeys(ctx);
    expect(after.find((r) => r.dir_key === 'data/A/')).toMatchObject({ cdn_transfer_published: 1, initial_transfer: 0 });
    expect(after.some((r) => r.dir_key === 'data/plus+dir/')).toBe(true); // reported, not deleted
    // Marked missing: last_seen is when a complete dump last listed it (the previous run); the others are NULL.
    const [runs] = await ctx.db.query<RowDataPacket[]>("SELECT id, started_at FROM dump_runs WHERE state_table = 'transfer_state' AND finished_at IS NOT NULL ORDER BY id");
    expect(runs.map((r) => r.id)).toEqual([first.runId, again.runId, delta.runId]);
    const [seen] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key, listed, last_seen FROM transfer_state_seen ORDER BY dir_key');
    // Every subfolder has its mark: the vanished one last seen by the run before, the others by the last run.
    const marks = Object.fromEntries(seen.map((r) => [r.dir_key, { listed: r.listed, last_seen: r.last_seen }]));
    const vanished = { 'data/plus+dir/': { listed: 0, last_seen: runs[1].started_at } };
    const listedNow = Object.fromEntries([...ROWS, 'data/new-one/'].map((k) => [k, { listed: 1, last_seen: runs[2].started_at }]));
    expect(marks).toEqual({ ...listedNow, ...vanished });
    const [marked] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key FROM transfer_state WHERE last_seen IS NOT NULL');
    expect(marked.map((r) => r.dir_key)).toEqual(['data/plus+dir/']);

    // Still gone: reported again, the stamp stays; back in S3: listed again.
    expect(await run(ctx)).toMatchObject({ new: 0, vanished: 1, reappeared: 0 });
    const [[stamp]] = await ctx.db.query<RowDataPacket[]>("SELECT last_seen FROM transfer_state WHERE dir_key = 'data/plus+dir/'");
    expect(stamp.last_seen).toEqual(runs[1].started_at);
    await put('data/plus+dir/file.txt');
    expect(await run(ctx)).toMatchObject({ new: 0, vanished: 0, reappeared: 1, existing: ROWS.length + 1 });
    const [[back]] = await ctx.db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM transfer_state WHERE last_seen IS NOT NULL");
    expect(back.n).toBe(0);
    await ctx.db.end();
  });

  it('is idempotent: a second run over the same listing changes no row, and records itself', async () => {
    const ctx = await testContext('dump', { s3_root_prefix: 'root/' });
    const file = join(dir, 'idem.txt');
    const lines = (names: string[]): string => names.map((n) => `                           PRE ${n}/`).join('\n');
    writeFileSync(file, lines(['a', 'b', 'c', 'd', 'e', 'b', 'a']));
    // batches of 2: the repeated keys land in later batches than their first listing
    expect(await run(ctx, { dumpFile: file, batchSize: 2 })).toMatchObject({ scanned: 5, new: 5, existing: 0, duplicates: 2 });
    await ctx.db.query("UPDATE transfer_state SET cdn_transfer_published = TRUE WHERE dir_key = 'root/c/'");
    writeFileSync(file, lines(['a', 'c', 'd', 'e', 'f']));
    expect(await run(ctx, { dumpFile: file, batchSize: 2 })).toMatchObject({ scanned: 5, new: 1, existing: 4, vanished: 1, vanishedSample: ['root/b/'] });
    const table = async (): Promise<unknown[]> => (await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY id'))[0];
    const before = await table();
    const again = await run(ctx, { dumpFile: file, batchSize: 2 });
    expect(again).toMatchObject({ scanned: 5, new: 0, existing: 5, duplicates: 0, vanished: 1, vanishedSample: ['root/b/'], reappeared: 0 });
    expect(await table()).toEqual(before);
    const [[rec]] = await ctx.db.query<RowDataPacket[]>('SELECT scanned, new_rows, vanished, bad_lines, finished_at IS NOT NULL AS done FROM dump_runs WHERE id = ?', [again.runId]);
    expect(rec).toMatchObject({ scanned: 5, new_rows: 0, vanished: 1, bad_lines: 0, done: 1 });
    await ctx.db.end();
  });

  it('marks nothing missing when the listing was not read to the end; the next complete run does', async () => {
    const ctx = await testContext('dump', { s3_root_prefix: 'root/' });
    const file = join(dir, 'restart.txt');
    writeFileSync(file, ['x', 'y', 'z'].map((n) => `                           PRE ${n}/`).join('\n'));
    await run(ctx, { dumpFile: file });
    writeFileSync(file, ['x', 'y', 'w'].map((n) => `                           PRE ${n}/`).join('\n'));
    ctx.abort();
    await expect(run(ctx, { dumpFile: file })).rejects.toThrow(/test aborted/);
    const [[r]] = await ctx.db.query<RowDataPacket[]>('SELECT (SELECT COUNT(*) FROM transfer_state WHERE last_seen IS NOT NULL) AS missing, (SELECT COUNT(*) FROM dump_runs WHERE finished_at IS NULL) AS unfinished');
    expect(r).toMatchObject({ missing: 0, unfinished: 1 });
    const ctx2 = await testContext('dump', { s3_root_prefix: 'root/' }, { mysql: ctx.secrets.mysql_config });
    expect(await run(ctx2, { dumpFile: file })).toMatchObject({ new: 1, existing: 2, vanished: 1, vanishedSample: ['root/z/'] });
    await Promise.all([ctx.db.end(), ctx2.db.end()]);
  });

  it('gives the same outcome when the listing spills to disk (a 4 KiB budget: partitions merged with the table range by range)', async () => {
    const ctx = await testContext('dump', { s3_root_prefix: 'root/' });
    const file = join(dir, 'spilled.txt');
    // Names whose UTF-8 byte order differs from their JS string order, repeats, and a few thousand plain ones.
    const odd = ['\uffff', '😀', 'é', 'e', 'ｚ', 'back\\slash\ttab'];
    const names = (from: number, to: number): string[] => [...odd, ...Array.from({ length: to - from }, (_, i) => `n-${from + i}`)];
    const write = (list: string[]): void => writeFileSync(file, list.map((n) => `                           PRE ${n}/`).join('\n'));
    const spillDir = mkdtempSync(join(tmpdir(), 'ott-dump-spill-'));
    const o = { dumpFile: file, spillBytes: 4096, batchSize: 500, tmpDir: spillDir };
    write([...names(0, 3000), 'n-7', '😀']);
    expect(await run(ctx, o)).toMatchObject({ scanned: 3006, new: 3006, existing: 0, duplicates: 2, vanished: 0 });
    write(names(100, 3100)); // n-0..n-99 vanish, n-3000..n-3099 are new
    const delta = await run(ctx, o);
    expect(delta).toMatchObject({ scanned: 3006, new: 100, existing: 2906, vanished: 100, reappeared: 0 });
    expect(delta.vanishedSample).toHaveLength(10);
    write(names(50, 3100)); // n-50..n-99 are back
    expect(await run(ctx, o)).toMatchObject({ new: 0, existing: 3056, vanished: 50, reappeared: 50 });
    const [[r]] = await ctx.db.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(last_seen IS NOT NULL) AS missing, SUM(dir_key_sha = UNHEX(SHA2(dir_key, 256))) AS sha_ok, SUM(dir_key = 'root/\uffff/') AS odd FROM transfer_state",
    );
    expect(r).toMatchObject({ n: 3106, missing: '50', sha_ok: '3106', odd: '1' });
    expect(readdirSync(spillDir)).toEqual([]); // the spill's files go with the run
    await ctx.db.end();
  });

  it('refuses to run beside another dump of the same table, changing nothing', async () => {
    const ctx = await testContext('dump', { s3_root_prefix: 'root/' });
    const file = join(dir, 'locked.txt');
    writeFileSync(file, '                           PRE x/\n');
    const other = await ctx.db.getConnection();
    await lockDump(other, 'transfer_state');
    await expect(run(ctx, { dumpFile: file })).rejects.toThrow(/another dump of table transfer_state is running/);
    const [[n]] = await ctx.db.query<RowDataPacket[]>('SELECT (SELECT COUNT(*) FROM transfer_state) AS rows_, (SELECT COUNT(*) FROM dump_runs) AS runs');
    expect(n).toMatchObject({ rows_: 0, runs: 0 });
    await unlockDump(other, 'transfer_state');
    other.release();
    expect(await run(ctx, { dumpFile: file })).toMatchObject({ new: 1 });
    await ctx.db.end();
  });

  it('reads an aws s3 ls dump, counting bad lines with their numbers, never failing on them', async () => {
    const ctx = await testContext('dump', { s3_bucket: bucket, s3_root_prefix: 'root/' });
    const file = join(dir, 'dump.txt');
    writeFileSync(
      file,
      [
        '                           PRE alpha/',
        '                           PRE Alpha/',
        '                           PRE with space/',
        '2024-01-01 10:00:00       1234 not-a-folder.txt',
        'garbage line here',
        '                           PRE unicodé+%/',
        '                           PRE back\\slash\ttab/',
        '                           PRE alpha/',
        '',
        'PRE missing-slash',
      ].join('\r\n'),
    );
    const s = await run(ctx, { dumpFile: file });
    // The object line is the root row (root/ itself), not a bad line.
    expect(s).toMatchObject({ scanned: 6, new: 6, badLines: 2 });
    expect(s.badLineSample.map((b) => b.lineNo)).toEqual([5, 10]);
    const rows = await dirKeys(ctx);
    expect(rows.map((r) => r.dir_key).sort()).toEqual(['root/', 'root/Alpha/', 'root/alpha/', 'root/unicodé+%/', 'root/with space/', 'root/back\\slash\ttab/'].sort());
    const [shas] = await ctx.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM transfer_state WHERE dir_key_sha = UNHEX(SHA2(dir_key, 256))');
    expect(shas[0].n).toBe(6); // hashed here, the same as MySQL's SHA2
    const twice = await run(ctx, { dumpFile: file });
    expect(twice).toMatchObject({ new: 0, existing: 6, vanished: 0 });
    await ctx.db.end();
  });

  it('runs as the real CLI: migrate then dump, printing a summary', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const ctx = await testContext('dump', {});
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
    const cfg = join(dir, 'cli.json');
    writeFileSync(cfg, JSON.stringify({ mysql_table: 'cli_state', credentials_file: creds, s3_bucket: bucket, s3_root_prefix: 'data/' }));
    // Without the switch this worker sets (test/setupEnv.ts): the CLI must silence the SDK's warning itself.
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined };
    const exec = (args: string[]): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(process.execPath, args, { env });
    await exec(['bin/ott.mjs', '--config', cfg, 'migrate']);
    const out = await exec(['bin/ott.mjs', '--config', cfg, 'dump']);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const done = lines.find((l) => l.message === 'dump finished');
    // the first test added data/new-one/ (and emptied data/plus+dir/, then filled it again)
    expect(done.summary).toMatchObject({ new: ROWS.length + 1, vanished: 0, badLines: 0 });
    expect(lines.some((l) => l.message === 'dump: done' && l.scanned === done.summary.scanned)).toBe(true);
    // The AWS SDK warns when its first client is built under Node < 22; operators' output carries only our
    // JSON lines, whichever entry point runs the CLI (here bin/ott.mjs; below the sources through tsx, as a
    // built main.js would run: without bin/ott.mjs).
    expect(out.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    const again = await exec(['--import', 'tsx', 'src/main.ts', '--config', cfg, 'dump']);
    expect(again.stdout).toContain('"dump finished"');
    expect(again.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
    // The check can fail: in this environment a bare SDK client does print it (Node 20; Node 22+ never does).
    const bare = await exec(['-e', "new (require('@aws-sdk/client-s3').S3Client)({ region: 'us-east-1' })"]);
    if (Number(process.versions.node.split('.')[0]) < 22) expect(bare.stderr).toMatch(/NodeVersionSupportWarning/);
    await ctx.db.end();
  });
});

describe('dump without LOAD DATA LOCAL', () => {
  it('falls back to multi-row INSERTs when the server or client refuses local infile, with the same outcome', async () => {
    const { createDb } = await import('../../src/common/db.js');
    const ctx = await testContext('dump', { s3_bucket: bucket, s3_root_prefix: 'root/' });
    await ctx.db.end();
    ctx.db = createDb(ctx.secrets.mysql_config, { flags: ['-LOCAL_FILES'] });
    const file = join(dir, 'fallback.txt');
    const odd = ['one', 'two', 'back\\slash\ttab', 'unicodé-日本', 'pct%20+'];
    writeFileSync(file, odd.map((n) => `                           PRE ${n}/`).join('\n'));
    const s = await run(ctx, { dumpFile: file, batchSize: 2 });
    expect(s).toMatchObject({ new: odd.length, method: 'multi-row INSERT' });
    const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key, dir_key_sha = UNHEX(SHA2(dir_key, 256)) AS sha_ok FROM transfer_state ORDER BY dir_key');
    expect(rows.map((r) => r.dir_key)).toEqual(odd.map((n) => `root/${n}/`).sort());
    expect(rows.every((r) => r.sha_ok === 1)).toBe(true);
    expect(await run(ctx, { dumpFile: file })).toMatchObject({ new: 0, existing: odd.length, vanished: 0 });
    writeFileSync(file, odd.slice(1).map((n) => `                           PRE ${n}/`).join('\n'));
    expect(await run(ctx, { dumpFile: file })).toMatchObject({ new: 0, existing: odd.length - 1, vanished: 1, vanishedSample: ['root/one/'], method: 'none (no new keys)' });
    await ctx.db.end();
  });
});
