// `ott migrate --adopt` on a table made by the reference design's exact CREATE TABLE, with rows in every
// state its modes leave: refused without --adopt (nothing changed), converted in place with it (every value
// of the 17 columns kept), and then the pipeline finishes the migration from it on the real stack, judged by
// downloading both buckets (test/helpers/compareCopies.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createDb, type Db } from '../../src/common/db.js';
import { migrate, statements } from '../../src/common/migrate.js';
import { ReferenceTableError } from '../../src/common/adopt.js';
import { run as publishObjects } from '../../src/publisher/publishObjectsList.js';
import { run as publishDirs } from '../../src/publisher/publishDirList.js';
import { run as cdnTransfer } from '../../src/worker/cdnTransfer.js';
import { run as syncCheck } from '../../src/worker/syncCheck.js';
import { run as rsync } from '../../src/worker/rsync.js';
import { reset } from '../../src/ops/reset.js';
import { freshDatabase } from '../helpers/db.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { DEFAULTS_FOR_NULL, REFERENCE_COLUMNS, REFERENCE_DDL, referenceRows } from './referenceTable.js';

const exec = promisify(execFile);
const TABLE = 'transfer_state';
const ROOT = 'data/';
const s3 = makeS3Client();
const s3Bucket = uniqueName('adopt-s3');
const gcsBucket = uniqueName('adopt-gcs');

/** Per subfolder: its objects' bodies in S3, and what the reference had already put in GCS. */
const WORLD: Record<string, { s3: Record<string, string>; gcs: Record<string, string> }> = {
  new: { s3: { 'a.txt': 'alpha', 'b c+ü.txt': 'bravo' }, gcs: {} },
  published: { s3: { 'a.txt': 'published-a', 'deep/b.txt': 'published-b' }, gcs: { 'a.txt': 'published-a' } },
  'check-published': { s3: { 'a.txt': 'cp-a', 'b.txt': 'cp-b' }, gcs: { 'a.txt': 'cp-a', 'b.txt': 'cp-b' } },
  checking: { s3: { 'a.txt': 'checking-a' }, gcs: {} },
  equal: { s3: { 'a.txt': 'equal-a', 'b.txt': 'equal-bb' }, gcs: { 'a.txt': 'equal-a', 'b.txt': 'equal-bb' } },
  'checked-often': { s3: { 'x.bin': 'x'.repeat(300) }, gcs: { 'x.bin': 'x'.repeat(300) } },
  mismatched: { s3: { 'a.txt': 'mm-a', 'b.txt': 'mm-b' }, gcs: { 'a.txt': 'mm-a' } },
  rsyncing: { s3: { 'a.txt': 'rs-a', 'b.txt': 'rs-b' }, gcs: {} },
  'rsync-failed': { s3: { 'a.txt': 'rf-aaaa' }, gcs: { 'a.txt': 'RF-AAAA-stale' } },
  nulls: { s3: { 'n.txt': 'nulls' }, gcs: {} },
};
const bytes = (o: Record<string, string>): number => Object.values(o).reduce((a, v) => a + Buffer.byteLength(v), 0);
const SIZES = Object.fromEntries(Object.entries(WORLD).map(([n, w]) => [n, { s3: bytes(w.s3), gcs: bytes(w.gcs) }]));

let mysql: Awaited<ReturnType<typeof freshDatabase>>;
let db: Db;
const contexts: TestCtx[] = [];
let topics: Record<'objects' | 'syncCheck' | 'rsync' | 'errors', string>;

async function rows(): Promise<RowDataPacket[]> {
  const [r] = await db.query<RowDataPacket[]>(`SELECT * FROM ${TABLE} ORDER BY dir_key`);
  return r;
}
const reference = (r: RowDataPacket): Record<string, unknown> => Object.fromEntries(REFERENCE_COLUMNS.map((c) => [c, r[c]]));

beforeAll(async () => {
  mysql = await freshDatabase('adopt');
  db = createDb(mysql);
  await db.query(REFERENCE_DDL(TABLE));
  await referenceRows(db, TABLE, ROOT, SIZES);
  await s3.send(new CreateBucketCommand({ Bucket: s3Bucket }));
  const probe = await testContext('adopt', {}, { mysql, migrate: false });
  contexts.push(probe);
  await probe.clients.gcs().createBucket(gcsBucket);
  for (const [name, w] of Object.entries(WORLD)) {
    for (const [rel, body] of Object.entries(w.s3)) await s3.send(new PutObjectCommand({ Bucket: s3Bucket, Key: `${ROOT}${name}/${rel}`, Body: body }));
    for (const [rel, body] of Object.entries(w.gcs)) await probe.clients.gcs().bucket(gcsBucket).file(`copy/${name}/${rel}`).save(body, { resumable: false });
  }
  const ps = probe.clients.pubsub();
  topics = { objects: uniqueName('adopt-objects'), syncCheck: uniqueName('adopt-check'), rsync: uniqueName('adopt-rsync'), errors: uniqueName('adopt-errors') };
  for (const t of Object.values(topics)) {
    await ps.createTopic(t);
    await ps.topic(t).createSubscription(`${t}-sub`, { ackDeadlineSeconds: 30 });
  }
});

afterAll(async () => {
  await db.end();
  for (const c of contexts) await Promise.allSettled([c.db.end(), c.clients.close()]);
});

/** A context for one mode on the adopted table: its topic or subscription, like one VM's config entity. */
async function modeCtx(mode: string, extra: Record<string, unknown>): Promise<TestCtx> {
  const ctx = await testContext(mode, {
    s3_bucket: s3Bucket, s3_root_prefix: ROOT, gcs_bucket: gcsBucket, gcs_root_prefix: 'copy/',
    cloudfront_url_host_pre: `${process.env.OTT_CDN_ENDPOINT}/${s3Bucket}/`, error_pubsub_topic_id: topics.errors,
    transfer_concurrency: 4, max_attempts: 3, retry_budget_ms: 20_000, grace_period_seconds: 5, ...extra,
  }, { mysql, migrate: false });
  contexts.push(ctx);
  return ctx;
}

describe('ott migrate --adopt', () => {
  let before: RowDataPacket[];

  it('refuses the reference table without --adopt, naming what to do, and changes nothing', async () => {
    before = await rows();
    expect(before.map((r) => r.dir_key)).toHaveLength(Object.keys(WORLD).length);
    const err = await migrate(db, TABLE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReferenceTableError);
    expect((err as Error).message).toMatch(/reference design's columns .*10 row\(s\).*ott migrate --adopt/);
    expect(await rows()).toEqual(before);
    const [done] = await db.query<RowDataPacket[]>('SELECT name FROM schema_migrations WHERE state_table = ?', [TABLE]);
    expect(done).toEqual([]);
  });

  it('converts it in place: every value of the 17 columns kept, keys hashed, then every migration applied', async () => {
    const r = await migrate(db, TABLE, undefined, { adopt: true });
    expect(r.applied[0]).toBe('adopt: 001_state_table.sql');
    expect(r.applied).toContain('006_recheck.sql');
    expect(r.adopted).toEqual({ rows: 10, published: { cdn: 8, syncCheck: 7, rsync: 3 }, inProgress: { syncCheck: 1, rsync: 1 } });
    const after = await rows();
    const expected = before.map((b) => (b.dir_key === `${ROOT}nulls/` ? { ...reference(b), ...DEFAULTS_FOR_NULL } : reference(b)));
    expect(after.map(reference)).toEqual(expected);
    for (const a of after) expect((a.dir_key_sha as Buffer).toString('hex')).toBe(createHash('sha256').update(a.dir_key as string).digest('hex'));
    // Spot checks of what the comparison covers: a TINYINT at its top, times, errors.
    const by = Object.fromEntries(after.map((a) => [a.dir_key.slice(ROOT.length, -1), a]));
    expect(by['checked-often'].sync_check_frequency).toBe(255);
    expect(by['rsync-failed']).toMatchObject({ rsync_frequency: 1, rsync_last_end: new Date('2026-03-04T09:30:00Z'), rsync_error: 'ERROR: (gcloud.storage.rsync) HTTPError 503: Service Unavailable', phase: 6 });
    expect(by.checking).toMatchObject({ sync_check_in_progress: 1, sync_check_owner: null, sync_check_lease_until: null });
    // Keys may now be 1024 bytes and case-sensitive like ours; a second migrate has nothing to do.
    const long = `${ROOT}${'é'.repeat(500)}/`;
    await db.query(`INSERT INTO ${TABLE} (dir_key, dir_key_sha) VALUES (?, UNHEX(SHA2(?, 256)))`, [long, long]);
    await db.query(`DELETE FROM ${TABLE} WHERE dir_key = ?`, [long]);
    const again = await migrate(db, TABLE, undefined, { adopt: true });
    expect(again.applied).toEqual([]);
    expect(again.adopted).toBeUndefined();
  });

  it('resumes an adoption that stopped between its two steps', async () => {
    const other = await freshDatabase('adopt2');
    const db2 = createDb(other);
    try {
      await db2.query(REFERENCE_DDL('ref_half'));
      await referenceRows(db2, 'ref_half', ROOT, SIZES);
      const [before] = await db2.query<RowDataPacket[]>('SELECT * FROM ref_half ORDER BY dir_key');
      // Step 1 alone, as a crash right after it would leave the table.
      const step1 = (await readFile(new URL('../../sql/adopt/1_reference_columns.sql', import.meta.url), 'utf8')).replaceAll('{{table}}', 'ref_half');
      for (const stmt of statements(step1)) await db2.query(stmt);
      await expect(migrate(db2, 'ref_half')).rejects.toBeInstanceOf(ReferenceTableError);
      // Through the real CLI, as an operator runs it: without --adopt it refuses (exit 1), with it converts.
      const dir = mkdtempSync(join(tmpdir(), 'ott-adopt-'));
      writeFileSync(join(dir, 'creds.json'), JSON.stringify({ mysql_config: other }));
      writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ mysql_table: 'ref_half', credentials_file: join(dir, 'creds.json') }));
      const ott = (args: string[]) => exec(process.execPath, ['bin/ott.mjs', '--config', join(dir, 'cfg.json'), ...args]).then((r) => ({ code: 0, out: r.stdout + r.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));
      const refused = await ott(['migrate']);
      expect(refused.code).toBe(1);
      expect(refused.out).toContain('run `ott migrate --adopt`');
      const adopted = await ott(['migrate', '--adopt']);
      expect(adopted.code, adopted.out).toBe(0);
      expect(adopted.out).toContain('migrate: adopted the reference table ref_half (10 rows, every value kept)');
      expect(adopted.out).toContain('run `ott reset syncCheck` and `ott reset rsync`');
      const [after] = await db2.query<RowDataPacket[]>('SELECT * FROM ref_half ORDER BY dir_key');
      expect(after.filter((a) => a.dir_key !== `${ROOT}nulls/`).map(reference)).toEqual(before.filter((b) => b.dir_key !== `${ROOT}nulls/`).map(reference));
      expect(after.every((a) => (a.dir_key_sha as Buffer).length === 32)).toBe(true);
    } finally {
      await db2.end();
    }
  });

  it('the pipeline finishes the migration from the adopted table: every object byte-identical in GCS', { timeout: 300_000 }, async () => {
    const ops = await modeCtx('reset', {});
    // The reference's queues are not ours: its published flags are cleared, as its own manual reset did.
    expect((await reset(ops, { mode: 'syncCheck' })).cleared).toBe(7);
    expect((await reset(ops, { mode: 'rsync' })).cleared).toBe(3);

    const pub = await modeCtx('publishObjectsList', { pubsub_topic_id: topics.objects });
    expect(await publishObjects(pub)).toMatchObject({ subfolders_published: 2, objects: 3 });
    const cdn = await modeCtx('cdnTransfer', { pubsub_subscription_id: `${topics.objects}-sub` });
    expect(await cdnTransfer(cdn, { exitWhenIdleMs: 2000 })).toMatchObject({ copied: 3, failed: 0 });

    const checkPub = await modeCtx('publishDirList', { pubsub_topic_id: topics.syncCheck });
    const checker = await modeCtx('syncCheck', { pubsub_subscription_id: `${topics.syncCheck}-sub` });
    const rsyncPub = await modeCtx('publishDirList', { pubsub_topic_id: topics.rsync });
    const rsyncer = await modeCtx('rsync', { pubsub_subscription_id: `${topics.rsync}-sub` });
    // Every subfolder measured again, those the reference had checked too, object by object (--deep): the
    // reference compared sizes only.
    expect((await publishDirs(checkPub, { purpose: 'syncCheck', recheck: true })).subfolders_published).toBe(10);
    expect((await syncCheck(checker, { idleExitSeconds: 2, deep: true })).received).toBe(10);
    const repaired = await publishDirs(rsyncPub, { purpose: 'rsync' });
    expect(repaired.subfolders_published).toBe(5); // published, checking, mismatched, rsyncing, rsync-failed
    expect(await rsync(rsyncer, { idleExitSeconds: 2 })).toMatchObject({ received: 5, failedObjects: 0 });
    expect((await publishDirs(checkPub, { purpose: 'syncCheck' })).subfolders_published).toBe(5);
    expect((await syncCheck(checker, { idleExitSeconds: 2, deep: true })).outcomes).toEqual({ equal: 5 });

    const v = await compareCopies({ s3Bucket, s3Prefix: ROOT, gcsBucket, gcsPrefix: 'copy/' });
    expect({ missing: v.missing, different: v.different, extra: v.extra }).toEqual({ missing: [], different: [], extra: [] });
    expect(v.objects).toBe(Object.values(WORLD).reduce((a, w) => a + Object.keys(w.s3).length, 0));
    const end = await rows();
    expect(end.filter((r) => r.phase !== 3 || r.sync_check_in_progress || r.rsync_in_progress).map((r) => r.dir_key)).toEqual([]);
    // Frequencies went on from where the reference left them.
    const by = Object.fromEntries(end.map((a) => [a.dir_key.slice(ROOT.length, -1), a]));
    expect(by.equal.sync_check_frequency).toBe(3);
    expect(by['checked-often'].sync_check_frequency).toBe(255);
    expect(by['rsync-failed']).toMatchObject({ rsync_frequency: 2, sync_check_frequency: 5 });
  });
});
