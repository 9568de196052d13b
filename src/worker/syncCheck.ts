// Mode `syncCheck` (the reference's worker mode 2, with leases): for each subfolder message, claim the
// row (only if neither syncCheck nor rsync holds it, or the holder's lease expired), measure S3 (in
// scope) and GCS in parallel, write the reference's end state plus object counts, and release only if
// this worker still owns the claim. `--deep` also diffs per object (key, size, MD5 where the ETag is one).
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { withClaim, type Finished } from '../state/withClaim.js';
import { deepCheck } from './diff.js';
import { recordExclusions } from './exclusions.js';
import { subfolderConsumer, type DirWorkerSummary, type SubfolderRunArgs } from './dirWorker.js';
import { consume } from './consume.js';
import { reportError } from './errorTopic.js';

export interface SyncCheckArgs extends SubfolderRunArgs {
  deep?: boolean;
}

export type SyncCheckSummary = DirWorkerSummary;

const MODE = 'syncCheck';

/**
 * The check itself: both sides' bytes and object counts in scope (one merged pass, so objects that cannot
 * be migrated count on neither side and are recorded on the row), and with --deep the per-object diff.
 */
async function check(work: Ctx, dirKey: string, deep: boolean): Promise<Finished> {
  const r = await deepCheck(work, dirKey);
  await recordExclusions(work, MODE, dirKey, r.exclusions);
  return { measured: r.measured, deep: deep ? r.deep : null };
}

/**
 * Checks one subfolder under a claim (src/state/withClaim.ts). Outcomes: `equal` / `mismatched`
 * (recorded), `busy` (held by another worker: its published flag is cleared so it is published again),
 * `unknown` (no such row: sent to the error topic), `failed` (recorded in sync_check_error and sent to the
 * error topic), `lost` (the lease expired and was taken over: the new owner's result stands), `released`
 * (shutdown: the row is given back untouched).
 */
export async function checkSubfolder(ctx: Ctx, dirKey: string, args: SyncCheckArgs = {}): Promise<string> {
  const r = await withClaim(ctx, { mode: MODE, dirKey, work: (work) => check(work, dirKey, !!args.deep) });
  if (r.outcome === 'failed' || r.outcome === 'unknown') await reportError(ctx, MODE, dirKey, r.reason);
  if (r.outcome === 'equal' || r.outcome === 'mismatched') {
    const { measured: m, deep } = r;
    ctx.log.info(`${MODE}: ${dirKey} ${r.outcome}`, { dir_key: dirKey, ...m, ...(deep ? { deep_missing: deep.missing, deep_different: deep.different, deep_extra: deep.extra } : {}) });
  }
  return r.outcome;
}

export async function run(ctx: Ctx, args: SyncCheckArgs = {}): Promise<SyncCheckSummary> {
  requireFields(ctx.config, MODE, ['s3_bucket', 'gcs_bucket', 'pubsub_subscription_id']);
  const c = subfolderConsumer(ctx, MODE, args, 3600_000, (work, dirKey) => checkSubfolder(work, dirKey, args));
  return c.summary(await consume(ctx, c.options));
}
