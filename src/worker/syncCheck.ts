// Mode `syncCheck` (the reference's worker mode 2, with leases): for each subfolder message, claim the
// row (only if neither syncCheck nor rsync holds it, or the holder's lease expired), measure S3 (in
// scope) and GCS in parallel, write the reference's end state plus object counts, and release only if
// this worker still owns the claim. `--deep` also diffs per object (key, size, MD5 where the ETag is one).
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { classify, toError } from '../common/errors.js';
import { redact } from '../common/redact.js';
import { fail, finish, release, type DeepResult, type Measured } from './claims.js';
import { deepCheck } from './diff.js';
import { measure } from './listing.js';
import { claimSubfolder, holdLease, subfolderConsumer, type DirWorkerSummary, type SubfolderRunArgs } from './dirWorker.js';
import { consume } from './consume.js';
import { reportError } from './errorTopic.js';

export interface SyncCheckArgs extends SubfolderRunArgs {
  deep?: boolean;
}

export type SyncCheckSummary = DirWorkerSummary;

const MODE = 'syncCheck';

/**
 * Checks one subfolder. Outcomes: `equal` / `mismatched` (recorded), `busy` (held by another worker: its
 * published flag is cleared so it is published again), `unknown` (no such row), `failed` (recorded in
 * sync_check_error and sent to the error topic), `lost` (the lease expired and was taken over: the new
 * owner's result stands), `released` (shutdown: the row is given back untouched).
 */
export async function checkSubfolder(ctx: Ctx, dirKey: string, args: SyncCheckArgs = {}): Promise<string> {
  const { db, config, workerId } = ctx;
  const table = config.mysql_table;
  const taken = await claimSubfolder(ctx, MODE, dirKey);
  if (taken !== 'claimed') return taken;
  // We MUST end the claim once we have taken it: finish, fail or release below; if MySQL itself is gone,
  // the lease expires and another worker takes the row over.
  const lease = holdLease(ctx, MODE, dirKey);
  try {
    const work: Ctx = { ...ctx, signal: lease.signal };
    let m: Measured;
    let deep: DeepResult | null = null;
    try {
      if (args.deep) {
        ({ measured: m, deep } = await deepCheck(work, dirKey));
      } else {
        const r = await measure(work, dirKey);
        m = { s3Bytes: r.s3.bytes, gcsBytes: r.gcs.bytes, s3Objects: r.s3.objects, gcsObjects: r.gcs.objects };
      }
    } catch (err) {
      if (lease.lost()) return 'lost';
      if (ctx.signal.aborted) {
        await release(db, table, MODE, dirKey, workerId);
        return 'released';
      }
      const reason = redact(`listing failed: ${classify(err).reason}`);
      ctx.log.error(`${MODE}: ${dirKey} ${reason}`, { dir_key: dirKey, error: toError(err) });
      await fail(db, table, MODE, dirKey, workerId, reason);
      await reportError(ctx, MODE, dirKey, reason);
      return 'failed';
    }
    if (!(await finish(db, table, MODE, dirKey, workerId, m, null, deep))) return 'lost';
    const equal = m.s3Bytes === m.gcsBytes && m.s3Objects === m.gcsObjects && (!deep || deep.missing + deep.different + deep.extra === 0);
    ctx.log.info(`${MODE}: ${dirKey} ${equal ? 'equal' : 'mismatched'}`, { dir_key: dirKey, ...m, ...(deep ? { deep_missing: deep.missing, deep_different: deep.different, deep_extra: deep.extra } : {}) });
    return equal ? 'equal' : 'mismatched';
  } finally {
    lease.stop();
  }
}

export async function run(ctx: Ctx, args: SyncCheckArgs = {}): Promise<SyncCheckSummary> {
  requireFields(ctx.config, MODE, ['s3_bucket', 'gcs_bucket', 'pubsub_subscription_id']);
  const c = subfolderConsumer(ctx, MODE, args, 3600_000, (work, dirKey) => checkSubfolder(work, dirKey, args));
  return c.summary(await consume(ctx, c.options));
}
