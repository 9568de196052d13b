// Issue 14, point 6: objects in scope that cannot be migrated as they are get their own recorded outcome,
// never a retry loop, and never count as done. Archived: GLACIER / DEEP_ARCHIVE known from the listing
// (the default storage_class scope is what CloudFront serves), an Intelligent-Tiering object in an archive
// tier known from the CDN's 403 InvalidObjectState (one GET) and syncCheck's HEAD. Unmigratable: names GCS
// refuses (LF in the name, over 1024 bytes after the prefix mapping). Recorded per subfolder (count, bytes,
// sample), shown by status on their own lines, excluded from done; then restore and re-run migrates the
// restored ones. On the real stack (s3rver's archive tiers, the CDN fixture, the GCS emulator's name rules);
// copies judged by compareCopies.
import { beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, RestoreObjectCommand } from '@aws-sdk/client-s3';
import type { RowDataPacket } from 'mysql2';
import { run as dump } from '../../src/dump/dump.js';
import { run as publishObjects } from '../../src/publisher/publishObjectsList.js';
import { run as cdnTransfer } from '../../src/worker/cdnTransfer.js';
import { checkSubfolder } from '../../src/worker/syncCheck.js';
import { createEngine, rsyncSubfolder } from '../../src/worker/rsync.js';
import { queryStatus, renderStatus } from '../../src/ops/status.js';
import { STORAGE_CLASSES } from '../../src/common/config/schema.js';
import { decodeMessage, errorMessageSchema } from '../../src/common/messages.js';
import { compareCopies } from '../helpers/compareCopies.js';
import type { TestCtx } from '../helpers/context.js';
import { setAccessTier } from '../stack/s3Testing.js';
import { createWorld, drain, s3, worldContext, type World } from './cdnTransferHarness.js';

const GCS_ROOT = 'migrated-copy-of-data/'; // longer than data/: a 1015-byte key maps to 1032 bytes
const LONG_KEY = `data/odd/${['a', 'b', 'c'].map((c) => c.repeat(250)).join('/')}/${'d'.repeat(253)}`;
const LF_KEY = 'data/odd/line\nfeed.txt';
const COLD = {
  std: 'data/cold/std.txt',
  glacier: 'data/cold/glacier.bin',
  deep: 'data/cold/deep.bin',
  itArchived: 'data/cold/it-archived.bin',
  itFrequent: 'data/cold/it-frequent.bin',
};
const ARCHIVED = [COLD.glacier, COLD.deep, COLD.itArchived];

let w: World;
let ctx: TestCtx;

async function put(key: string, size: number, StorageClass?: 'GLACIER' | 'DEEP_ARCHIVE' | 'INTELLIGENT_TIERING'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: w.s3Bucket, Key: key, Body: Buffer.alloc(size, key.length % 251), ...(StorageClass ? { StorageClass } : {}) }));
}

async function row(dirKey: string): Promise<RowDataPacket> {
  const [r] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state WHERE dir_key = ?', [dirKey]);
  return r[0];
}

/** The failed-object ledger (sql/012): key -> [mode, reason class, open]. */
async function ledger(): Promise<Record<string, [string, string, boolean]>> {
  const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT object_key, mode, reason_class, resolved_at FROM failed_objects');
  return Object.fromEntries(rows.map((r) => [r.object_key as string, [r.mode as string, r.reason_class as string, r.resolved_at === null]]));
}

const sampleKeys = (json: string | null): string[] => (json ? (JSON.parse(json) as { key: string }[]).map((k) => k.key).sort() : []);

beforeAll(async () => {
  w = await createWorld('arch14', { gcs_root_prefix: GCS_ROOT });
  ctx = await worldContext(w, { delete_unmatched: true });
  expect(Buffer.byteLength(LONG_KEY)).toBe(1015);
  await put(COLD.std, 100);
  await put(COLD.glacier, 200, 'GLACIER');
  await put(COLD.deep, 300, 'DEEP_ARCHIVE');
  await put(COLD.itArchived, 400, 'INTELLIGENT_TIERING');
  await put(COLD.itFrequent, 500, 'INTELLIGENT_TIERING');
  await setAccessTier(w.s3Bucket, COLD.itArchived, 'DEEP_ARCHIVE_ACCESS');
  await put('data/odd/fine.txt', 10);
  await put(LF_KEY, 20);
  await put(LONG_KEY, 30);
});

const judge = (prefix: string): ReturnType<typeof compareCopies> =>
  compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: prefix, gcsBucket: w.gcsBucket, gcsPrefix: GCS_ROOT + prefix.slice('data/'.length), skip: (k) => ARCHIVED.includes(k) || k === LF_KEY || k === LONG_KEY });

describe('archived and unmigratable objects', () => {
  it('the CDN fixture answers an archived object with S3 403 InvalidObjectState, as CloudFront passes it through', async () => {
    for (const key of [COLD.glacier, COLD.itArchived]) {
      const res = await fetch(`${process.env.OTT_CDN_ENDPOINT}/${w.s3Bucket}/${key}`);
      const body = await res.text();
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/xml/);
      expect(body).toMatch(/<Code>InvalidObjectState<\/Code>/);
    }
  });

  it('are recorded per subfolder, never fetched in a loop, never done; restore then re-run migrates them', { timeout: 240_000 }, async () => {
    // The publisher in a process (client) of its own, as on the VMs: a Pub/Sub client that opened the
    // objects topic with its gaxOpts refuses later publishes to other topics (see the report).
    const publisher = await worldContext(w, {}, ctx);
    await dump(publisher);
    const pub = await publishObjects(publisher);
    await Promise.allSettled([publisher.db.end(), publisher.clients.close()]);
    // GLACIER / DEEP_ARCHIVE by the listing; the LF name and the 1032-byte GCS name by GCS's rules.
    expect(pub).toMatchObject({ objects: 4, excluded: { archived: 2, unmigratable: 2 }, filtered: { storage_class: 0 } });
    expect(await row('data/cold/')).toMatchObject({ published_objects: 3, archived_objects: 2, archived_bytes: 500, unmigratable_objects: 0 });
    expect(sampleKeys((await row('data/cold/')).archived_sample)).toEqual([COLD.deep, COLD.glacier]);
    expect(await row('data/odd/')).toMatchObject({ published_objects: 1, unmigratable_objects: 2, unmigratable_bytes: 50 });
    expect(sampleKeys((await row('data/odd/')).unmigratable_sample)).toEqual([LF_KEY, LONG_KEY].sort());
    // Each one set aside is in the failed-object ledger, open, with its class.
    const setAside = {
      [COLD.glacier]: ['publishObjectsList', 'archived', true],
      [COLD.deep]: ['publishObjectsList', 'archived', true],
      [LF_KEY]: ['publishObjectsList', 'unmigratable', true],
      [LONG_KEY]: ['publishObjectsList', 'unmigratable', true],
    };
    expect(await ledger()).toEqual(setAside);

    // The Intelligent-Tiering object in an archive tier: one GET, the 403 recognised, not retried.
    const t = await cdnTransfer(ctx, { exitWhenIdleMs: 1500 });
    expect(t).toMatchObject({ copied: 3, failed: 1 });
    const errors = (await drain(w.errorSub, 1, 5000)).map((m) => decodeMessage(errorMessageSchema, m.data));
    expect(errors.map((e) => e.ok && { key: e.message.key, attempts: e.message.attempts })).toEqual([{ key: COLD.itArchived, attempts: 1 }]);
    expect(errors[0].ok && errors[0].message.reason).toMatch(/archived in S3 \(403 InvalidObjectState, INTELLIGENT_TIERING DEEP_ARCHIVE_ACCESS\)/);
    expect(await ledger()).toEqual({ ...setAside, [COLD.itArchived]: ['cdnTransfer', 'archived', true] });

    // syncCheck: the archived and unmigratable objects count on neither side (so the rest is equal), and are recorded.
    expect(await checkSubfolder(ctx, 'data/cold/')).toBe('equal');
    expect(await row('data/cold/')).toMatchObject({ s3_objects: 2, gcs_objects: 2, archived_objects: 3, archived_bytes: 900 });
    expect(sampleKeys((await row('data/cold/')).archived_sample)).toEqual([...ARCHIVED].sort());
    expect(await checkSubfolder(ctx, 'data/odd/', { deep: true })).toBe('equal');
    expect(await row('data/odd/')).toMatchObject({ s3_objects: 1, gcs_objects: 1, unmigratable_objects: 2, deep_missing: 0 });
    // rsync fetches none of them (no error), and finds nothing to repair.
    const engine = createEngine(ctx, 'cdn');
    expect(await rsyncSubfolder(ctx, engine, 'data/cold/')).toBe('equal');
    expect(await row('data/cold/')).toMatchObject({ rsync_error: null, archived_objects: 3 });
    expect(await judge('data/cold/')).toMatchObject({ objects: 2, missing: [], different: [], extra: [], skipped: [...ARCHIVED].sort() });
    expect(await judge('data/odd/')).toMatchObject({ objects: 1, missing: [], different: [], extra: [] });

    // Status (after the check confirming the rsync): their own lines with what to do, and never 100% done.
    expect(await checkSubfolder(ctx, 'data/cold/')).toBe('equal');
    const st = await queryStatus(ctx.db, 'transfer_state');
    expect(st.excluded.archived).toMatchObject({ subfolders: 1, objects: 3, bytes: 900 });
    expect(st.excluded.unmigratable).toMatchObject({ subfolders: 1, objects: 2, bytes: 50 });
    expect(st.total).toMatchObject({ s3Objects: 3, gcsObjects: 3 });
    expect(st.total.objectsPercentDone).toBe(37.5);
    const screen = renderStatus(st);
    expect(screen).toMatch(/^done: 39\.1% of bytes, 37\.5% of objects verified in GCS .*\(not done: 3 archived and 2 unmigratable object\(s\)/m);
    expect(screen).toMatch(/^archived: 3 object\(s\), 900 B in 1 subfolder\(s\), not in GCS: restore them/m);
    expect(screen).toMatch(/^unmigratable: 2 object\(s\), 50 B in 1 subfolder\(s\), not in GCS: GCS cannot hold them/m);
    expect(screen).toContain(JSON.stringify(LF_KEY));

    // Restore, then re-run: the Intelligent-Tiering object and the GLACIER one (its class named in
    // storage_class once restored) are copied; DEEP_ARCHIVE, not restored, stays archived.
    await s3.send(new RestoreObjectCommand({ Bucket: w.s3Bucket, Key: COLD.itArchived, RestoreRequest: {} }));
    await s3.send(new RestoreObjectCommand({ Bucket: w.s3Bucket, Key: COLD.glacier, RestoreRequest: { Days: 2 } }));
    const rerun = await worldContext(w, { storage_class: [...STORAGE_CLASSES] }, ctx);
    expect(await checkSubfolder(rerun, 'data/cold/')).toBe('mismatched');
    expect(await row('data/cold/')).toMatchObject({ s3_objects: 4, gcs_objects: 2, archived_objects: 1, archived_bytes: 300 });
    expect(await rsyncSubfolder(rerun, createEngine(rerun, 'cdn'), 'data/cold/')).toBe('equal');
    expect(await row('data/cold/')).toMatchObject({ s3_objects: 4, gcs_objects: 4, archived_objects: 1, rsync_error: null });
    expect(sampleKeys((await row('data/cold/')).archived_sample)).toEqual([COLD.deep]);
    // The rsync that copied the restored ones resolved their ledger entries; the rest stay open.
    expect(await ledger()).toEqual({ ...setAside, [COLD.glacier]: ['publishObjectsList', 'archived', false], [COLD.itArchived]: ['cdnTransfer', 'archived', false] });
    const after = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/cold/', gcsBucket: w.gcsBucket, gcsPrefix: `${GCS_ROOT}cold/`, skip: (k) => k === COLD.deep });
    expect(after).toMatchObject({ objects: 4, missing: [], different: [], extra: [] });
    await engine.close();
    await Promise.allSettled([rerun.db.end(), rerun.clients.close()]);
  });
});
