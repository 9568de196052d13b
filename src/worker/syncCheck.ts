// Mode `syncCheck` (the reference's worker mode 2, with leases): for each subfolder message, claim the
// row (only if neither syncCheck nor rsync holds it, or the holder's lease expired), measure S3 (in
// scope) and GCS in parallel, write the reference's end state plus object counts, and release only if
// this worker still owns the claim. `--deep` also diffs per object (key, size, MD5 where the ETag is one).
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { isEqual, withClaim, type Finished } from '../state/withClaim.js';
import { holderOf } from '../state/leases.js';
import { rsyncAttempts } from '../state/work.js';
import { deepCheck, measure } from './diff.js';
import { subfolderConsumer, type DirDelivery, type DirWorkerSummary, type SubfolderRunArgs } from './dirWorker.js';
import { consume } from './consume.js';
import { reportError } from './errorTopic.js';

export interface SyncCheckArgs extends SubfolderRunArgs {
  deep?: boolean;
}

export type SyncCheckSummary = DirWorkerSummary;

const MODE = 'syncCheck';

/** The check itself: both sides' bytes and object counts in scope, and with --deep the per-object diff. */
async function check(work: Ctx, dirKey: string, deep: boolean): Promise<Finished> {
  if (deep) {
    const r = await deepCheck(work, dirKey);
    return pastRsyncCap(work, dirKey, { measured: r.measured, deep: r.deep });
  }
  const r = await measure(work, dirKey);
  return pastRsyncCap(work, dirKey, { measured: { s3Bytes: r.s3.bytes, gcsBytes: r.gcs.bytes, s3Objects: r.s3.objects, gcsObjects: r.gcs.objects }, deep: null });
}

/**
 * The end of the repair loop: a subfolder still mismatched after max_rsync_attempts rsyncs is failed, with
 * what differs and what to do, instead of being sent to rsync again (sql/README.md, "The repair loop").
 * Read under our claim: no rsync can count an attempt meanwhile.
 */
async function pastRsyncCap(work: Ctx, dirKey: string, f: Finished): Promise<Finished> {
  if (isEqual(f.measured, f.deep ?? null)) return f;
  const max = work.config.max_rsync_attempts;
  const attempts = await rsyncAttempts(holderOf(work), dirKey);
  if (attempts < max) return f;
  const m = f.measured;
  const deep = f.deep ? `; deep: ${f.deep.missing} missing, ${f.deep.different} different, ${f.deep.extra} extra` : '';
  const error =
    `still mismatched after ${attempts} rsync attempts (max_rsync_attempts ${max}): S3 ${m.s3Objects} objects / ${m.s3Bytes} B, GCS ${m.gcsObjects} objects / ${m.gcsBytes} B${deep}; ` +
    `no further rsync is published: see the rsync error topic, fix the cause, then \`ott rsync --dir ${dirKey}\``;
  return { ...f, failed: { error, reason: error } };
}

/**
 * Checks one subfolder under a claim (src/state/withClaim.ts). Outcomes: `equal` / `mismatched`
 * (recorded), `busy` (held by another worker: the message comes back later), `requeued` (busy again on a
 * late redelivery: its published flag is cleared so the publisher sends it again),
 * `unknown` (no such row: sent to the error topic), `failed` (recorded in sync_check_error and sent to the
 * error topic), `lost` (the lease expired and was taken over: the new owner's result stands), `released`
 * (shutdown: the row is given back untouched).
 */
export async function checkSubfolder(ctx: Ctx, dirKey: string, args: SyncCheckArgs = {}, delivery?: DirDelivery): Promise<string> {
  const r = await withClaim(ctx, { mode: MODE, dirKey, work: (work) => check(work, dirKey, !!args.deep), deliveryAttempt: delivery?.deliveryAttempt });
  if (r.outcome === 'failed' || r.outcome === 'unknown') await reportError(ctx, MODE, dirKey, r.reason);
  if (r.outcome === 'equal' || r.outcome === 'mismatched') {
    const { measured: m, deep } = r;
    ctx.log.info(`${MODE}: ${dirKey} ${r.outcome}`, { dir_key: dirKey, ...m, ...(deep ? { deep_missing: deep.missing, deep_different: deep.different, deep_extra: deep.extra } : {}) });
  }
  return r.outcome;
}

export async function run(ctx: Ctx, args: SyncCheckArgs = {}): Promise<SyncCheckSummary> {
  requireFields(ctx.config, MODE, ['s3_bucket', 'gcs_bucket', 'pubsub_subscription_id']);
  const c = subfolderConsumer(ctx, MODE, args, 3600_000, (work, dirKey, delivery) => checkSubfolder(work, dirKey, args, delivery));
  return c.summary(await consume(ctx, c.options));
}
