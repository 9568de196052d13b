// Issue 14, point 1: objects directly under s3_root_prefix. They make the root row (dir_key =
// s3_root_prefix), listed flat on both sides, so dump (S3 API and `aws s3 ls` file), publishObjectsList,
// cdnTransfer, syncCheck (shallow and --deep), rsync (both engines) and status handle them, while the
// subfolders' objects are neither published twice nor counted extra nor deleted by the root's repair.
// Judged from outside with compareCopies (downloads both sides); on the real stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { run as dump } from '../../src/dump/dump.js';
import { run as publishObjects } from '../../src/publisher/publishObjectsList.js';
import { run as cdnTransfer } from '../../src/worker/cdnTransfer.js';
import { checkSubfolder } from '../../src/worker/syncCheck.js';
import { createEngine, rsyncSubfolder } from '../../src/worker/rsync.js';
import { gcloudArgs } from '../../src/worker/rsync/gcloud.js';
import { queryStatus } from '../../src/ops/status.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { createWorld, putObject, worldContext, type World } from './cdnTransferHarness.js';

const ROOT_KEYS = ['data/root-level-file.txt', 'data/root two+.bin'];
const SUB_KEYS = ['data/sub1/a.txt', 'data/sub1/deep/b.txt', 'data/sub2/c.txt'];
const ROWS = ['data/', 'data/sub1/', 'data/sub2/'];

let w: World;
let ctx: TestCtx;
const dir = mkdtempSync(join(tmpdir(), 'ott-root-'));

beforeAll(async () => {
  w = await createWorld('root14');
  ctx = await worldContext(w, { delete_unmatched: true });
  for (const [i, k] of [...ROOT_KEYS, ...SUB_KEYS].entries()) await putObject(w, k, 100 + i * 37);
});

afterAll(async () => {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

async function rows(c: TestCtx): Promise<RowDataPacket[]> {
  const [r] = await c.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY dir_key');
  return r;
}

const everything = (): ReturnType<typeof compareCopies> => compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/' });
const ALL_EQUAL = { objects: 5, missing: [], different: [], metadataLost: [], extra: [] };

async function deleteGcs(name: string): Promise<void> {
  await ctx.clients.gcs().bucket(w.gcsBucket).file(name).delete();
}

describe('objects directly under s3_root_prefix (the root row)', () => {
  it('dump from an aws s3 ls file: its object lines make the root row', async () => {
    const file = join(dir, 'ls.txt');
    writeFileSync(
      file,
      ['                           PRE sub1/', '                           PRE sub2/', '2026-11-30 10:00:00        100 root-level-file.txt', '2026-11-30 10:00:00        137 root two+.bin', ''].join('\n'),
    );
    const c = await testContext('dump', { s3_root_prefix: 'data/' });
    const s = await dump(c, { dumpFile: file });
    expect(s).toMatchObject({ scanned: 3, new: 3, badLines: 0, duplicates: 0 });
    expect((await rows(c)).map((r) => r.dir_key)).toEqual(ROWS);
    await c.db.end();
  });

  it('dump (S3 API), publish, cdnTransfer, syncCheck, rsync and status take in the root objects, flat', { timeout: 240_000 }, async () => {
    expect(await dump(ctx)).toMatchObject({ scanned: 3, new: 3 });
    expect((await rows(ctx)).map((r) => r.dir_key)).toEqual(ROWS);

    // The root row publishes its own two objects only, not its subfolders' again.
    const pub = await publishObjects(ctx);
    expect(pub).toMatchObject({ subfolders_published: 3, objects: 5, subfolders_failed: 0 });
    const published = Object.fromEntries((await rows(ctx)).map((r) => [r.dir_key, r.published_objects]));
    expect(published).toEqual({ 'data/': 2, 'data/sub1/': 2, 'data/sub2/': 1 });

    const t = await cdnTransfer(ctx, { exitWhenIdleMs: 1500 });
    expect(t).toMatchObject({ copied: 5, failed: 0 });
    expect(await everything()).toMatchObject(ALL_EQUAL);

    // Shallow and deep checks: the root row counts its two objects on both sides (the GCS listing is flat too).
    for (const k of ROWS) expect(await checkSubfolder(ctx, k)).toBe('equal');
    expect((await rows(ctx))[0]).toMatchObject({ dir_key: 'data/', s3_objects: 2, gcs_objects: 2, s3_size: 237, gcs_size: 237 });
    expect(await checkSubfolder(ctx, 'data/', { deep: true })).toBe('equal');
    expect((await rows(ctx))[0]).toMatchObject({ deep_missing: 0, deep_different: 0, deep_extra: 0 });

    // The root object lost in GCS and a stray one beside it: --deep finds exactly those, not the subfolders' objects.
    await deleteGcs('copy/root-level-file.txt');
    await ctx.clients.gcs().bucket(w.gcsBucket).file('copy/stray.txt').save('not in S3', { resumable: false });
    expect(await checkSubfolder(ctx, 'data/', { deep: true })).toBe('mismatched');
    const deep = (await rows(ctx))[0];
    expect({ missing: deep.deep_missing, extra: deep.deep_extra, sample: JSON.parse(deep.deep_sample) }).toEqual({
      missing: 1,
      extra: 1,
      sample: { missing: ['data/root-level-file.txt'], different: [], extra: ['copy/stray.txt'] },
    });

    // rsync (cdn engine, delete_unmatched) repairs the root level only: the subfolders' copies stay.
    const cdn = createEngine(ctx, 'cdn');
    expect(await rsyncSubfolder(ctx, cdn, 'data/')).toBe('equal');
    await cdn.close();
    expect(await everything()).toMatchObject(ALL_EQUAL);

    // The gcloud engine: no --recursive for the root row, so its delete_unmatched cannot reach the subfolders.
    expect(gcloudArgs(ctx, 'data/', false)).not.toContain('--recursive');
    expect(gcloudArgs(ctx, 'data/sub1/', false)).toContain('--recursive');
    await deleteGcs('copy/root-level-file.txt');
    const gcloud = createEngine(ctx, 'gcloud');
    expect(await rsyncSubfolder(ctx, gcloud, 'data/')).toBe('equal');
    expect(await everything()).toMatchObject(ALL_EQUAL);

    // Status counts the root objects: 5 in S3, 5 in GCS.
    for (const k of ROWS) expect(await checkSubfolder(ctx, k)).toBe('equal');
    const st = await queryStatus(ctx.db, 'transfer_state');
    expect(st.total).toMatchObject({ subfolders: 3, s3Objects: 5, gcsObjects: 5, s3Bytes: 100 + 137 + 174 + 211 + 248, objectsPercentDone: 100 });
  });

  it('with s3_root_prefix "" (the bucket root) the root row is the empty dir_key, end to end', { timeout: 120_000 }, async () => {
    const b = await createWorld('root14b', { s3_root_prefix: '', gcs_root_prefix: '' });
    const c = await worldContext(b);
    await putObject(b, 'top-level.txt', 42);
    await putObject(b, 'dir/x.txt', 7);
    expect(await dump(c)).toMatchObject({ scanned: 2, new: 2, badLines: 0 });
    expect((await rows(c)).map((r) => r.dir_key)).toEqual(['', 'dir/']);
    expect(await publishObjects(c)).toMatchObject({ subfolders_published: 2, objects: 2, subfolders_failed: 0 });
    expect(await cdnTransfer(c, { exitWhenIdleMs: 1500 })).toMatchObject({ copied: 2, failed: 0, deadLettered: 0 });
    expect(await checkSubfolder(c, '', { deep: true })).toBe('equal');
    expect(await checkSubfolder(c, 'dir/')).toBe('equal');
    expect((await rows(c))[0]).toMatchObject({ dir_key: '', s3_objects: 1, gcs_objects: 1, s3_size: 42, deep_extra: 0 });
    expect(await compareCopies({ s3Bucket: b.s3Bucket, s3Prefix: '', gcsBucket: b.gcsBucket, gcsPrefix: '' })).toMatchObject({ objects: 2, missing: [], different: [], extra: [] });
    expect((await queryStatus(c.db, 'transfer_state')).total).toMatchObject({ s3Objects: 2, gcsObjects: 2 });
    await Promise.allSettled([c.db.end(), c.clients.close()]);
  });
});
