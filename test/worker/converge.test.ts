// Issue 14, point 3: the check -> repair loop converges, on the real stack (MariaDB, Pub/Sub, S3, the
// CloudFront fixture, GCS). The loop is driven as the VMs drive it: publishDirList (syncCheck, then
// rsync) and the workers pulling their messages, round after round, never `ott reset`. Copies are judged
// by compareCopies (S3 and GCS downloaded and MD5-compared, no src/ code); status by `ott status`'s reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as publishDirList } from '../../src/publisher/publishDirList.js';
import { checkSubfolder, run as runSyncCheck } from '../../src/worker/syncCheck.js';
import { createEngine, rsyncSubfolder, run as runRsync } from '../../src/worker/rsync.js';
import { queryStatus } from '../../src/ops/status.js';
import { claimDir, releaseDir } from '../../src/state/work.js';
import { addRows, closeCtx, errorMessages, makeWorld, messagesOn, publishDirs, putGcs, putS3, row, workerCtx, type World } from './syncCheckFixture.js';
import { compareCopies, type CopyReport } from '../helpers/compareCopies.js';
import { addFaults, clearFaults } from '../stack/faults.js';
import { testContext } from '../helpers/context.js';

let w: World;
const cdn = (): string => process.env.OTT_CDN_ENDPOINT!;

beforeAll(async () => {
  w = await makeWorld('converge', { max_rsync_attempts: 2, rsync_backoff_seconds: 3 }, { cdn: true });
});

afterAll(async () => {
  await clearFaults(cdn(), w.s3Bucket).catch(() => undefined);
  await closeCtx(w.ctx);
});

async function compared(dir: string): Promise<CopyReport> {
  return compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: `data/${dir}`, gcsBucket: w.gcsBucket, gcsPrefix: `mirror/${dir}` });
}

/** One publishDirList run for `purpose` (as the VM's timer runs it); returns how many subfolders it published. */
async function publish(purpose: 'syncCheck' | 'rsync'): Promise<number> {
  const ctx = await testContext('publishDirList', { ...w.config, pubsub_topic_id: w.topics[purpose].topic }, { mysql: w.ctx.secrets.mysql_config, migrate: false });
  try {
    return (await publishDirList(ctx, { purpose })).subfolders_published;
  } finally {
    await closeCtx(ctx);
  }
}

/** The workers of `purpose` take the `n` messages just published; returns their outcomes. */
async function work(purpose: 'syncCheck' | 'rsync', n: number, opts: { deep?: boolean } = {}): Promise<Record<string, number>> {
  if (n === 0) return {};
  const ctx = await workerCtx(w, purpose);
  try {
    const s = purpose === 'syncCheck' ? await runSyncCheck(ctx, { maxMessages: n, idleExitSeconds: 30, deep: opts.deep }) : await runRsync(ctx, { maxMessages: n, idleExitSeconds: 30 });
    return s.outcomes;
  } finally {
    await closeCtx(ctx);
  }
}

describe('the check -> repair loop', () => {
  it('a --deep finding (same-size overwrite) makes the subfolder mismatched: rsync is published, repairs it, and the confirming check is equal', async () => {
    await putS3(w, 'data/ow/a.txt', 'alpha');
    await putS3(w, 'data/ow/b.txt', 'bravo');
    await addRows(w, ['data/ow/']);
    await w.ctx.db.query('UPDATE transfer_state SET initial_transfer = FALSE, cdn_transfer_published = TRUE WHERE dir_key = ?', ['data/ow/']);
    // Migrated through the copy path (GCS holds ott-source-etag), and checked equal.
    const ctx = await workerCtx(w, 'rsync');
    const engine = createEngine(ctx, 'cdn');
    expect(await rsyncSubfolder(ctx, engine, 'data/ow/')).toBe('equal');
    expect(await checkSubfolder(ctx, 'data/ow/')).toBe('equal');
    expect(await compared('ow/')).toMatchObject({ objects: 2, missing: [], different: [], extra: [] });
    // The source changes after the migration: same size, new bytes, the only change in the subfolder.
    await putS3(w, 'data/ow/b.txt', 'BRAVO');
    expect(await compared('ow/')).toMatchObject({ different: ['data/ow/b.txt'] });
    expect(await checkSubfolder(ctx, 'data/ow/', { deep: true })).toBe('mismatched');
    // Not "checked equal": the deep finding is a mismatch, in the row and in status.
    expect(await row(w, 'data/ow/')).toMatchObject({ s3_size: 10, gcs_size: 10, deep_different: 1, phase: 4 });
    expect((await queryStatus(w.ctx.db, 'transfer_state')).phases.mismatched.subfolders).toBe(1);
    expect(await publish('rsync')).toBe(1);
    expect(await work('rsync', 1)).toEqual({ equal: 1 });
    expect(await compared('ow/')).toMatchObject({ objects: 2, bytes: 10, missing: [], different: [], metadataLost: [], extra: [] });
    expect(await publish('syncCheck')).toBe(1);
    expect(await work('syncCheck', 1, { deep: true })).toEqual({ equal: 1 });
    expect(await row(w, 'data/ow/')).toMatchObject({ phase: 3, deep_different: 0, rsync_attempts: 0, rsync_next_at: null, rsync_published: 0 });
    await engine.close();
    await closeCtx(ctx);
  });

  it('a subfolder still mismatched after an rsync is rsynced again after the backoff, until a check finds it equal', async () => {
    await putS3(w, 'data/again/a.txt', 'alpha');
    await putS3(w, 'data/again/b.txt', 'bravo');
    await putGcs(w, 'mirror/again/a.txt', 'alpha');
    await addRows(w, ['data/again/']);
    await w.ctx.db.query('UPDATE transfer_state SET initial_transfer = FALSE, cdn_transfer_published = TRUE WHERE dir_key = ?', ['data/again/']);
    expect(await publish('syncCheck')).toBe(1);
    expect(await work('syncCheck', 1)).toEqual({ mismatched: 1 });
    // The first rsync cannot fetch b.txt: the CDN answers 503 to every attempt (max_attempts 3).
    await addFaults(cdn(), { match: { op: 'get', bucket: w.s3Bucket, prefix: 'data/again/b.txt' }, times: 3, action: { status: 503 } });
    expect(await publish('rsync')).toBe(1);
    expect(await work('rsync', 1)).toEqual({ failed: 1 });
    await errorMessages(w, 1);
    // The attempt is counted, the next one waits, and the published flag is off again.
    const first = await row(w, 'data/again/');
    expect(first).toMatchObject({ rsync_attempts: 1, rsync_published: 0, rsync_in_progress: 0 });
    expect(first.rsync_next_at).not.toBeNull();
    // The rsync is confirmed by a check: still mismatched.
    expect(await publish('syncCheck')).toBe(1);
    expect(await work('syncCheck', 1)).toEqual({ mismatched: 1 });
    const second = await row(w, "data/again/");
    expect(second).toMatchObject({ phase: 4, rsync_attempts: 1 });
    // Within the backoff nothing is published; after it, the subfolder is rsynced again.
    const [[due]] = (await w.ctx.db.query('SELECT rsync_next_at > UTC_TIMESTAMP() AS waiting FROM transfer_state WHERE dir_key = ?', ['data/again/'])) as unknown as [[{ waiting: number }]];
    if (due.waiting) expect(await publish('rsync')).toBe(0);
    await new Promise((r) => setTimeout(r, 3500));
    expect(await publish('rsync')).toBe(1);
    expect(await work('rsync', 1)).toEqual({ equal: 1 });
    expect(await publish('syncCheck')).toBe(1);
    expect(await work('syncCheck', 1)).toEqual({ equal: 1 });
    expect(await row(w, 'data/again/')).toMatchObject({ phase: 3, rsync_attempts: 0, rsync_next_at: null, rsync_frequency: 2 });
    expect(await publish('rsync')).toBe(0);
    expect(await compared('again/')).toMatchObject({ objects: 2, bytes: 10, missing: [], different: [], metadataLost: [], extra: [] });
  });

  it('past max_rsync_attempts the subfolder is failed in status with the reason, and no further rsync is published', async () => {
    await putS3(w, 'data/stuck/a.txt', 'alpha');
    await putS3(w, 'data/stuck/b.txt', 'bravo');
    await putGcs(w, 'mirror/stuck/a.txt', 'alpha');
    await addRows(w, ['data/stuck/']);
    await w.ctx.db.query('UPDATE transfer_state SET initial_transfer = FALSE, cdn_transfer_published = TRUE WHERE dir_key = ?', ['data/stuck/']);
    // b.txt can never be fetched: the origin refuses it (403 is not retried).
    await addFaults(cdn(), { match: { op: 'get', bucket: w.s3Bucket, prefix: 'data/stuck/b.txt' }, times: 1000, action: { status: 403 } });
    const rsyncs: Record<string, number>[] = [];
    for (let round = 0; round < 4; round++) {
      const checks = await publish('syncCheck');
      await work('syncCheck', checks);
      await new Promise((r) => setTimeout(r, round === 0 ? 0 : 3500)); // the backoff
      const n = await publish('rsync');
      if (n) rsyncs.push(await work('rsync', n));
    }
    await errorMessages(w, 3);
    expect(rsyncs).toEqual([{ failed: 1 }, { failed: 1 }]);
    const r = await row(w, 'data/stuck/');
    expect(r).toMatchObject({ rsync_attempts: 2, phase: 6, rsync_published: 0 });
    expect(r.sync_check_error).toMatch(/^still mismatched after 2 rsync attempts \(max_rsync_attempts 2\): S3 2 objects \/ 10 B, GCS 1 objects \/ 5 B/);
    const s = await queryStatus(w.ctx.db, 'transfer_state');
    expect(s.phases.failed.subfolders).toBe(1);
    expect(s.recentErrors.find((e) => e.dirKey === 'data/stuck/')).toMatchObject({ mode: 'syncCheck', error: expect.stringMatching(/still mismatched after 2 rsync attempts/) });
    expect(await compared('stuck/')).toMatchObject({ missing: ['data/stuck/b.txt'] });
    await clearFaults(cdn(), w.s3Bucket);
  });
});

// Issue 14, point 4: a busy subfolder is re-offered by its own message, redelivered later, not by clearing
// its published flag (the publisher flags a row only after Pub/Sub took its message: a worker quick enough
// to find the row busy before that cleared a flag about to be set, acked the message, and the row stayed
// flagged with no message anywhere).
describe('a busy subfolder', () => {
  it('has its message redelivered later and checked once the holder let go, whenever the publisher flags it', async () => {
    await putS3(w, 'data/held/x.txt', 'x');
    await putGcs(w, 'mirror/held/x.txt', 'x');
    await addRows(w, ['data/held/']);
    await w.ctx.db.query('UPDATE transfer_state SET initial_transfer = FALSE, cdn_transfer_published = TRUE WHERE dir_key = ?', ['data/held/']);
    const other = { db: w.ctx.db, table: 'transfer_state', owner: 'other-vm', leaseSeconds: 600 };
    expect(await claimDir(other, 'rsync', 'data/held/')).toBe(true);
    // Published, and handled before its publisher flagged the row.
    await publishDirs(w, 'syncCheck', ['data/held/']);
    const ctx = await workerCtx(w, 'syncCheck', { lease_seconds: 30 }); // a busy message comes back after 10 s
    const first = await runSyncCheck(ctx, { maxMessages: 1, idleExitSeconds: 30 });
    expect(first).toMatchObject({ received: 1, deferred: 1, outcomes: { busy: 1 } });
    // The publisher's flag lands now; then the holder lets go.
    await w.ctx.db.query('UPDATE transfer_state SET sync_check_published = TRUE WHERE dir_key = ?', ['data/held/']);
    expect(await releaseDir(other, 'rsync', 'data/held/')).toBe(true);
    // Nothing would publish the flagged row again: the message itself comes back and the check runs.
    const again = await runSyncCheck(ctx, { maxMessages: 1, idleExitSeconds: 40 });
    expect(again).toMatchObject({ received: 1, outcomes: { equal: 1 } });
    expect(await row(w, 'data/held/')).toMatchObject({ sync_check_frequency: 1, sync_check_in_progress: 0, phase: 3 });
    await closeCtx(ctx);
  });

  it('is handed back to the publisher (flag cleared, message acked) on its 4th delivery, before a dead-letter policy takes it', async () => {
    await addRows(w, ['data/long/']);
    await w.ctx.db.query('UPDATE transfer_state SET initial_transfer = FALSE, cdn_transfer_published = TRUE, sync_check_published = TRUE WHERE dir_key = ?', ['data/long/']);
    const other = { db: w.ctx.db, table: 'transfer_state', owner: 'long-rsync', leaseSeconds: 600 };
    expect(await claimDir(other, 'rsync', 'data/long/')).toBe(true);
    // A subscription with Pub/Sub's smallest max_delivery_attempts (5), so deliveries are counted.
    const ps = w.ctx.clients.pubsub();
    const name = `${w.topics.syncCheck.topic}-dl`;
    const [topic] = await ps.createTopic(name);
    const [dead] = await ps.createTopic(`${name}-dead`);
    await dead.createSubscription(`${name}-dead-sub`);
    await topic.createSubscription(`${name}-sub`, { ackDeadlineSeconds: 60, deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: 5 } });
    await topic.publishMessage({ data: Buffer.from(JSON.stringify({ v: 1, kind: 'dir', purpose: 'syncCheck', dir_key: 'data/long/' })) });
    const ctx = await workerCtx(w, 'syncCheck', { lease_seconds: 30, pubsub_subscription_id: `${name}-sub` });
    const s = await runSyncCheck(ctx, { maxMessages: 4, idleExitSeconds: 60 });
    expect(s).toMatchObject({ received: 4, deferred: 3, outcomes: { busy: 3, requeued: 1 } });
    // Given back: the publisher sends it again once the holder is done; nothing went to the dead letters.
    expect(await row(w, 'data/long/')).toMatchObject({ sync_check_published: 0, sync_check_frequency: 0, rsync_owner: 'long-rsync' });
    expect(await messagesOn(w, `${name}-dead-sub`, 1, 3000)).toEqual([]);
    await closeCtx(ctx);
  }, 180_000);
});

