// S3 Inventory as a source, on the real stack: deliveries in AWS's exact format (test/helpers/inventory.ts)
// in the S3 emulator; `dump --inventory` loads the subfolders with their counts, `publishObjectsList
// --from-inventory` publishes without one S3 call, cdnTransfer copies, and the copies are judged by
// compareCopies (both buckets downloaded). CSV (gzip) and Parquet; the newest manifest under a prefix;
// a corrupted data file refused by its MD5; ORC refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run as dump } from '../../src/dump/dump.js';
import { run as publish } from '../../src/publisher/publishObjectsList.js';
import { run as transfer } from '../../src/worker/cdnTransfer.js';
import { phaseTotals } from '../../src/state/status.js';
import { knownSizes } from '../../src/state/estimate.js';
import { createWorld, worldContext, type World } from '../worker/cdnTransferHarness.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { csvGz, parquet, putDelivery, type InventoryLine } from '../helpers/inventory.js';
import type { TestCtx } from '../helpers/context.js';

const s3 = makeS3Client();
const dest = uniqueName('inv-dest');

/** Subfolder -> its objects (key under data/, size); odd keys a CSV inventory must URL-encode. */
const OBJECTS: Record<string, [string, number][]> = {
  'data/a/': [
    ['data/a/1.txt', 100],
    ['data/a/with space.txt', 2000],
    ['data/a/plus+sign', 7],
    ['data/a/pct%20literal', 33],
  ],
  'data/b/': [
    ['data/b/unicodé-日本-😀', 501],
    ['data/b/deep/er/x.bin', 70_000],
    ['data/b/comma,quote"', 12],
  ],
  'data/c/': [['data/c/only', 1]],
};
const ROOT_OBJECTS: [string, number][] = [
  ['data/root-1.txt', 10],
  ['data/root-2.txt', 20],
];
/** In S3 and the inventory, dropped by the storage_class filter (config: STANDARD only). */
const IA_OBJECT: [string, number] = ['data/c/infrequent.bin', 44];
const SUBFOLDER_OBJECTS = Object.values(OBJECTS).flat();

function bytes(key: string, size: number): Buffer {
  return Buffer.alloc(size, key.length % 251);
}

interface Source {
  world: World;
  lines: InventoryLine[];
}

/** A world (S3 bucket, GCS bucket, topics) whose bucket holds the objects, and the inventory lines AWS would write for it. */
async function source(prefix: string): Promise<Source> {
  const world = await createWorld(prefix, { storage_class: ['STANDARD'], num_single_message: 2 });
  const lines: InventoryLine[] = [];
  const put = async ([key, size]: [string, number], storageClass?: 'STANDARD_IA'): Promise<void> => {
    const r = await s3.send(new PutObjectCommand({ Bucket: world.s3Bucket, Key: key, Body: bytes(key, size), ...(storageClass ? { StorageClass: storageClass } : {}) }));
    lines.push({ key, size, etag: r.ETag!.replace(/"/g, ''), lastModified: new Date(), storageClass: storageClass ?? 'STANDARD', versionId: 'v2', isLatest: true });
  };
  for (const o of [...SUBFOLDER_OBJECTS, ...ROOT_OBJECTS]) await put(o);
  await put(IA_OBJECT, 'STANDARD_IA');
  await s3.send(new PutObjectCommand({ Bucket: world.s3Bucket, Key: 'outside/x.txt', Body: 'x' }));
  lines.push({ key: 'outside/x.txt', size: 1, etag: 'abc', lastModified: new Date(), storageClass: 'STANDARD' });
  // A versioned bucket's inventory also lists older versions and delete markers: neither is an object to copy.
  lines.push({ key: 'data/a/1.txt', size: 99, etag: '0123456789abcdef0123456789abcdef', lastModified: new Date(0), storageClass: 'STANDARD', versionId: 'v1', isLatest: false });
  lines.push({ key: 'data/gone/deleted.txt', versionId: 'v3', isLatest: true, isDeleteMarker: true, lastModified: new Date() });
  return { world, lines };
}

async function stateRows(ctx: TestCtx): Promise<Record<string, { objects: number | null; bytes: number | null }>> {
  const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key, inventory_objects, inventory_bytes FROM transfer_state ORDER BY dir_key');
  return Object.fromEntries(rows.map((r) => [r.dir_key as string, { objects: r.inventory_objects === null ? null : Number(r.inventory_objects), bytes: r.inventory_bytes === null ? null : Number(r.inventory_bytes) }]));
}

const sum = (os: [string, number][]): number => os.reduce((a, [, n]) => a + n, 0);

/** dump --inventory, publish --from-inventory with S3 made unreachable, cdnTransfer, judged by compareCopies. */
async function endToEnd(src: Source, inventoryUrl: string): Promise<void> {
  const ctx = await worldContext(src.world);
  const d = await dump(ctx, { inventory: inventoryUrl });
  expect(d.new).toBe(4); // three subfolders and the root row (objects directly under data/)
  expect(d.vanished).toBe(0);
  expect(d.inventory).toMatchObject({
    objects: SUBFOLDER_OBJECTS.length + ROOT_OBJECTS.length + 1,
    bytes: sum(SUBFOLDER_OBJECTS) + sum(ROOT_OBJECTS) + IA_OBJECT[1],
    root_objects: ROOT_OBJECTS.length,
    root_bytes: sum(ROOT_OBJECTS),
    outside_root: 1,
  });
  // Counts known up front, per subfolder (before filters: the inventory lists the IA object too).
  expect(await stateRows(ctx)).toEqual({
    'data/': { objects: ROOT_OBJECTS.length, bytes: sum(ROOT_OBJECTS) },
    'data/a/': { objects: 4, bytes: sum(OBJECTS['data/a/']) },
    'data/b/': { objects: 3, bytes: sum(OBJECTS['data/b/']) },
    'data/c/': { objects: 2, bytes: 1 + IA_OBJECT[1] },
  });
  // Status and estimate know them before any listing, publish or check.
  const totals = await phaseTotals(ctx.db, 'transfer_state');
  const all = sum(SUBFOLDER_OBJECTS) + IA_OBJECT[1] + sum(ROOT_OBJECTS);
  expect(totals.new).toMatchObject({ subfolders: 4, s3Objects: 9 + ROOT_OBJECTS.length, s3Bytes: all });
  expect(await knownSizes(ctx.db, 'transfer_state')).toEqual({ subfolders: 4, knownSubfolders: 4, knownObjects: 9 + ROOT_OBJECTS.length, knownBytes: all });

  // No S3 call at all from the publisher: the objects come from the index.
  const noS3: TestCtx = {
    ...ctx,
    clients: {
      ...ctx.clients,
      s3: () => {
        throw new Error('publishObjectsList --from-inventory called S3');
      },
    },
  };
  const p = await publish(noS3, { fromInventory: true });
  expect(p).toMatchObject({ subfolders_published: 4, subfolders_failed: 0, objects: SUBFOLDER_OBJECTS.length + ROOT_OBJECTS.length, bytes: sum(SUBFOLDER_OBJECTS) + sum(ROOT_OBJECTS) });
  expect(p.filtered.storage_class).toBe(1);

  const t = await transfer(ctx, { exitWhenIdleMs: 2000 });
  expect(t).toMatchObject({ failed: 0, copied: SUBFOLDER_OBJECTS.length + ROOT_OBJECTS.length });
  for (const dir of Object.keys(OBJECTS)) {
    const report = await compareCopies({ s3Bucket: src.world.s3Bucket, s3Prefix: dir, gcsBucket: src.world.gcsBucket, gcsPrefix: `copy/${dir.slice('data/'.length)}` });
    const expected = OBJECTS[dir];
    const missing = dir === 'data/c/' ? [IA_OBJECT[0]] : []; // filtered out, as configured
    expect(report).toMatchObject({ objects: expected.length, bytes: sum(expected), missing, different: [], metadataLost: [], extra: [] });
  }
  // The root row's objects (directly under data/) came from the index too, and only those: the whole
  // prefix compared holds every subfolder's copies and the root objects, nothing missing but the filtered one.
  const whole = await compareCopies({ s3Bucket: src.world.s3Bucket, s3Prefix: 'data/', gcsBucket: src.world.gcsBucket, gcsPrefix: 'copy/' });
  expect(whole).toMatchObject({ objects: SUBFOLDER_OBJECTS.length + ROOT_OBJECTS.length, missing: [IA_OBJECT[0]], different: [], extra: [] });
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: dest }));
});

describe('S3 Inventory as a source', () => {
  it('CSV (gzip): the newest manifest under a prefix, dump with counts, publish without listing, copies byte-identical', { timeout: 120_000 }, async () => {
    const src = await source('invcsv');
    const at = new Date('2026-11-29T01:00:00Z');
    // An older delivery whose data file is gone: reading it would fail, so the newest must be the one read.
    await putDelivery(s3, { dest, prefix: 'inv/', source: src.world.s3Bucket, config: 'daily', at: new Date('2026-11-28T01:00:00Z'), format: 'CSV', files: [csvGz(src.world.s3Bucket, src.lines.slice(0, 2))] })
      .then(async (old) => s3.send(new PutObjectCommand({ Bucket: dest, Key: old.dataKeys[0], Body: 'overwritten' })));
    const half = Math.ceil(src.lines.length / 2);
    const d = await putDelivery(s3, { dest, prefix: 'inv/', source: src.world.s3Bucket, config: 'daily', at, format: 'CSV', files: [csvGz(src.world.s3Bucket, src.lines.slice(0, half)), csvGz(src.world.s3Bucket, src.lines.slice(half))] });
    await endToEnd(src, d.prefixUrl);
  });

  it('Parquet (several row groups): dump with counts, publish without listing, copies byte-identical', { timeout: 120_000 }, async () => {
    const src = await source('invpq');
    const d = await putDelivery(s3, { dest, prefix: 'pq/', source: src.world.s3Bucket, config: 'weekly', at: new Date('2026-11-29T02:00:00Z'), format: 'Parquet', files: [parquet(src.world.s3Bucket, src.lines)] });
    await endToEnd(src, d.manifestUrl);
  });

  it('a data file whose bytes do not match its manifest MD5 is refused; nothing of it is loaded and the run stays unfinished', { timeout: 60_000 }, async () => {
    const src = await source('invbad');
    const d = await putDelivery(s3, {
      dest,
      prefix: 'bad/',
      source: src.world.s3Bucket,
      config: 'daily',
      at: new Date('2026-11-29T03:00:00Z'),
      format: 'CSV',
      files: [csvGz(src.world.s3Bucket, src.lines)],
      corrupt: 0,
    });
    const ctx = await worldContext(src.world);
    await expect(dump(ctx, { inventory: d.manifestUrl })).rejects.toThrow(new RegExp(`inventory data file s3://${dest}/${d.dataKeys[0]} is corrupted: MD5 [0-9a-f]{32}`));
    expect(await stateRows(ctx)).toEqual({});
    const [[inv]] = await ctx.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM transfer_state_inventory');
    expect(Number(inv.n)).toBe(0);
    const [runs] = await ctx.db.query<RowDataPacket[]>('SELECT finished_at FROM dump_runs WHERE state_table = ?', ['transfer_state']);
    expect(runs.map((r) => r.finished_at)).toEqual([null]);
    // Without a complete inventory dump, the publisher refuses to publish from the index.
    await expect(publish(ctx, { fromInventory: true })).rejects.toThrow(/did not read an S3 Inventory; run `ott dump --inventory/);
  });

  it('ORC and a manifest of another bucket are refused with what to do', { timeout: 60_000 }, async () => {
    const src = await source('invorc');
    const ctx = await worldContext(src.world);
    const orc = await putDelivery(s3, { dest, prefix: 'orc/', source: src.world.s3Bucket, config: 'daily', at: new Date('2026-11-29T04:00:00Z'), format: 'ORC', files: [Buffer.from('ORC')] });
    await expect(dump(ctx, { inventory: orc.manifestUrl })).rejects.toThrow(/lists ORC files, which ott does not read: configure the inventory with CSV or Parquet/);
    const other = await putDelivery(s3, { dest, prefix: 'other/', source: 'another-bucket', config: 'daily', at: new Date('2026-11-29T04:00:00Z'), format: 'CSV', files: [csvGz('another-bucket', src.lines)] });
    await expect(dump(ctx, { inventory: other.manifestUrl })).rejects.toThrow(`lists bucket another-bucket, not s3_bucket ${src.world.s3Bucket}: nothing was loaded`);
    expect(await stateRows(ctx)).toEqual({});
  });
});

describe('S3 Inventory through the real CLI', () => {
  it('dump --inventory, then a newer delivery: compared with the first (new, changed, deleted), replaces the index and the counts; publishObjectsList --from-inventory --dry-run', { timeout: 120_000 }, async () => {
    const exec = promisify(execFile);
    const src = await source('invcli');
    const ctx = await worldContext(src.world);
    const dir = mkdtempSync(join(tmpdir(), 'ott-inv-cli-'));
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
    const cfg = join(dir, 'cli.json');
    writeFileSync(cfg, JSON.stringify({ ...src.world.config, mysql_table: 'transfer_state', credentials_file: creds }));
    const ott = async (...args: string[]): Promise<Record<string, unknown>[]> => {
      const out = await exec(process.execPath, ['bin/ott.mjs', '--config', cfg, ...args], { env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
      return out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const summaryOf = (lines: Record<string, unknown>[], message: string): Record<string, unknown> => lines.find((l) => l.message === message)!.summary as Record<string, unknown>;
    const deliver = (lines: InventoryLine[], at: string) =>
      putDelivery(s3, { dest, prefix: 'cli/', source: src.world.s3Bucket, config: 'daily', at: new Date(at), format: 'CSV', files: [csvGz(src.world.s3Bucket, lines)] });

    const first = await deliver(src.lines, '2026-11-20T00:00:00Z');
    const d1 = summaryOf(await ott('dump', '--inventory', first.prefixUrl), 'dump finished');
    expect(d1).toMatchObject({ new: 4, inventory: { root_objects: 2, pruned: 0 } }); // 3 subfolders and the root row
    expect(d1.inventory).not.toHaveProperty('changes'); // nothing to compare with
    // The next day's inventory: data/c/ emptied, a new object in data/a/, one object rewritten (another ETag).
    const rewritten = 'data/b/deep/er/x.bin';
    const next = [
      ...src.lines.filter((l) => !l.key.startsWith('data/c/')).map((l) => (l.key === rewritten && l.isLatest !== false ? { ...l, etag: 'ffffffffffffffffffffffffffffffff' } : l)),
      { key: 'data/a/new.txt', size: 5, etag: 'e2fc714c4727ee9395f324cd2e7f331f', lastModified: new Date(), storageClass: 'STANDARD' },
    ];
    await deliver(next, '2026-11-21T00:00:00Z');
    const d2 = summaryOf(await ott('dump', '--inventory', first.prefixUrl), 'dump finished');
    expect(d2).toMatchObject({ new: 0, existing: 3, vanished: 1, vanishedSample: ['data/c/'], inventory: { pruned: 2, manifest: expect.stringContaining('2026-11-21T00-00Z/manifest.json') } });
    // Two inventories compared: new, changed (size or ETag) and deleted objects.
    const changes = (d2.inventory as { changes: Record<string, unknown> }).changes;
    expect({ ...changes, deleted_sample: [...(changes.deleted_sample as string[])].sort() }).toEqual({
      since_run: d1.runId,
      new_objects: 1,
      changed_objects: 1,
      deleted_objects: 2,
      deleted_sample: ['data/c/infrequent.bin', 'data/c/only'],
    });
    expect(await stateRows(ctx)).toEqual({
      'data/': { objects: ROOT_OBJECTS.length, bytes: sum(ROOT_OBJECTS) },
      'data/a/': { objects: 5, bytes: sum(OBJECTS['data/a/']) + 5 },
      'data/b/': { objects: 3, bytes: sum(OBJECTS['data/b/']) },
      'data/c/': { objects: 0, bytes: 0 },
    });
    const p = summaryOf(await ott('publishObjectsList', '--from-inventory', '--dry-run'), 'publishObjectsList finished');
    expect(p).toMatchObject({ dry_run: true, subfolders_published: 4, objects: 8 + ROOT_OBJECTS.length, bytes: sum(OBJECTS['data/a/']) + 5 + sum(OBJECTS['data/b/']) + sum(ROOT_OBJECTS) });
    await ctx.db.end();
  });
});

describe('the inventory index load', () => {
  it('indexes the same rows through LOAD DATA LOCAL INFILE and, when local infile is refused, through multi-row INSERTs; a second delivery updates them', { timeout: 120_000 }, async () => {
    const { createDb } = await import('../../src/common/db.js');
    const { testContext } = await import('../helpers/context.js');
    const source = uniqueName('inv-odd');
    // Keys that LOAD DATA's escaping must carry (tab, newline, backslash, `\N`), a class-less object, a time with milliseconds.
    const at = new Date('2026-11-01T10:20:30.456Z');
    const lines: InventoryLine[] = ['data/t\tab/x', 'data/n\newline/y', 'data/back\\slash/z', 'data/\\N/null', 'data/ü/日本', 'data/root-only'].map((key, i) => ({
      key,
      size: 10 + i,
      etag: `${String(i).repeat(32)}`,
      lastModified: at,
      ...(i === 3 ? {} : { storageClass: 'STANDARD' }),
    }));
    const indexed = async (ctx: TestCtx): Promise<unknown[]> => {
      const [rows] = await ctx.db.query<RowDataPacket[]>(
        `SELECT obj_key, size, etag, storage_class, DATE_FORMAT(last_modified, '%Y-%m-%d %H:%i:%s.%f') AS t, HEX(dir_key_sha) AS dir, key_sha = UNHEX(SHA2(obj_key, 256)) AS sha_ok, first_run_id, changed_run_id, dump_run_id
         FROM transfer_state_inventory ORDER BY obj_key`,
      );
      return rows.map((r) => ({ ...r }));
    };
    const results: unknown[][] = [];
    for (const [i, refuse] of [false, true].entries()) {
      const ctx = await testContext('dump', { s3_bucket: source, s3_root_prefix: 'data/' });
      if (refuse) {
        await ctx.db.end();
        ctx.db = createDb(ctx.secrets.mysql_config, { flags: ['-LOCAL_FILES'] });
      }
      const first = await putDelivery(s3, { dest, prefix: `odd${i}/`, source, config: 'daily', at: new Date('2026-11-29T05:00:00Z'), format: 'CSV', files: [csvGz(source, lines)] });
      const d1 = await dump(ctx, { inventory: first.manifestUrl });
      expect(d1.inventory).toMatchObject({ objects: lines.length, root_objects: 1 });
      const rows = (await indexed(ctx)) as Record<string, unknown>[];
      expect(rows.map((r) => r.obj_key)).toEqual(lines.map((l) => l.key).sort());
      expect(rows.every((r) => r.sha_ok === 1 && r.t === '2026-11-01 10:20:30.456000')).toBe(true);
      expect(rows.find((r) => r.obj_key === 'data/\\N/null')).toMatchObject({ storage_class: null, size: 13 });
      // The next delivery: one ETag changed, the rest the same.
      const second = await putDelivery(s3, {
        dest,
        prefix: `odd${i}/`,
        source,
        config: 'daily',
        at: new Date('2026-11-30T05:00:00Z'),
        format: 'Parquet',
        files: [parquet(source, lines.map((l, j) => (j === 0 ? { ...l, etag: 'f'.repeat(32) } : l)))],
      });
      const d2 = await dump(ctx, { inventory: second.manifestUrl });
      expect(d2.inventory?.changes).toMatchObject({ new_objects: 0, changed_objects: 1, deleted_objects: 0 });
      const after = (await indexed(ctx)) as Record<string, unknown>[];
      expect(after.map((r) => [r.obj_key, r.first_run_id, r.changed_run_id, r.dump_run_id])).toEqual(
        rows.map((r) => [r.obj_key, d1.runId, r.obj_key === lines[0].key ? d2.runId : d1.runId, d2.runId]),
      );
      // Run ids aside, both paths index the same rows.
      results.push(after.map(({ first_run_id: _f, changed_run_id: _c, dump_run_id: _d, ...r }) => r));
      await ctx.db.end();
    }
    expect(results[1]).toEqual(results[0]);
  });
});
