// Mode `rsync` (the reference's worker mode 3, with leases): for each subfolder message, claim the row on
// rsync_in_progress (same exclusion as syncCheck), make GCS match S3 with the configured engine (cdn:
// ours, through the CDN; gcloud: the reference's `gcloud storage rsync`), re-measure both sides and write
// the reference's end state (sizes, counts, rsync_last_end, rsync_frequency + 1, rsync_error). A failure
// goes to the error topic with its reason; the claim is always ended, or left to expire if MySQL is gone.
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { classify, toError } from '../common/errors.js';
import { redact } from '../common/redact.js';
import { fail, finish, release, type Measured } from './claims.js';
import { measure } from './listing.js';
import { claimSubfolder, holdLease, reportError, runDirWorker, type DirWorkerSummary } from './dirWorker.js';
import { createCdnEngine } from './rsync/cdn.js';
import { createGcloudEngine } from './rsync/gcloud.js';
import { addResult, emptyResult, type EngineResult, type RsyncEngine } from './rsync/engine.js';

export interface RsyncArgs {
  engine?: 'cdn' | 'gcloud';
  /** Print the plan for --dir subfolders; claims and changes nothing. */
  dryRun?: boolean;
  /** Work on these subfolders directly instead of pulling messages. */
  dirs?: string[];
  concurrency?: number;
  idleExitSeconds?: number;
  maxMessages?: number;
  print?: (line: string) => void;
}

export interface RsyncSummary extends DirWorkerSummary {
  engine: string;
  copied: number;
  skipped: number;
  /** `skipped` per reason: same-md5, same-source-etag, written-meanwhile. */
  skippedBy: EngineResult['skippedBy'];
  deleted: number;
  failedObjects: number;
}

const MODE = 'rsync';

export function createEngine(ctx: Ctx, name: 'cdn' | 'gcloud'): RsyncEngine {
  return name === 'gcloud' ? createGcloudEngine() : createCdnEngine(ctx);
}

/**
 * Repairs one subfolder. Outcomes: `equal` / `mismatched` (after the repair; recorded), `busy` (held by
 * another worker: left to be published again), `unknown`, `failed` (engine or listing failed: recorded in
 * rsync_error, sent to the error topic), `lost` (lease taken over), `released` (shutdown).
 */
export async function rsyncSubfolder(ctx: Ctx, engine: RsyncEngine, dirKey: string, totals?: EngineResult): Promise<string> {
  const { db, config, workerId } = ctx;
  const table = config.mysql_table;
  const taken = await claimSubfolder(ctx, MODE, dirKey);
  if (taken !== 'claimed') return taken;
  // We MUST end the claim once taken: finish, fail or release below (or the lease expires if MySQL is gone).
  const lease = holdLease(ctx, MODE, dirKey);
  try {
    const work: Ctx = { ...ctx, signal: lease.signal };
    let engineError: string | undefined;
    let m: Measured;
    try {
      const r = await engine.sync(work, dirKey, { dryRun: false, print: () => undefined });
      if (totals) addResult(totals, r);
      engineError = r.error;
      const after = await measure(work, dirKey);
      m = { s3Bytes: after.s3.bytes, gcsBytes: after.gcs.bytes, s3Objects: after.s3.objects, gcsObjects: after.gcs.objects };
    } catch (err) {
      if (lease.lost()) return 'lost';
      if (ctx.signal.aborted) {
        await release(db, table, MODE, dirKey, workerId);
        return 'released';
      }
      const reason = redact(`${engineError ? `${engineError}; then ` : ''}listing failed: ${classify(err).reason}`);
      ctx.log.error(`${MODE}: ${dirKey} ${reason}`, { dir_key: dirKey, error: toError(err) });
      await fail(db, table, MODE, dirKey, workerId, reason);
      await reportError(ctx, MODE, dirKey, reason);
      return 'failed';
    }
    if (!(await finish(db, table, MODE, dirKey, workerId, m, engineError ?? null))) return 'lost';
    if (engineError) {
      await reportError(ctx, MODE, dirKey, `${engine.name} engine: ${engineError}`);
      return 'failed';
    }
    const equal = m.s3Bytes === m.gcsBytes && m.s3Objects === m.gcsObjects;
    ctx.log.info(`${MODE}: ${dirKey} ${equal ? 'equal' : 'mismatched'} after ${engine.name} rsync`, { dir_key: dirKey, ...m });
    return equal ? 'equal' : 'mismatched';
  } finally {
    lease.stop();
  }
}

export async function run(ctx: Ctx, args: RsyncArgs = {}): Promise<RsyncSummary> {
  requireFields(ctx.config, MODE, ['s3_bucket', 'gcs_bucket']);
  const engine = createEngine(ctx, args.engine ?? ctx.config.rsync_engine);
  const totals = emptyResult();
  const print = args.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  try {
    let s: DirWorkerSummary;
    if (args.dryRun || args.dirs?.length) {
      if (!args.dirs?.length) throw new Error('--dry-run needs the subfolders to plan: give --dir KEY (repeatable); it never consumes queued messages');
      const started = Date.now();
      s = { received: 0, malformed: 0, outcomes: {}, seconds: 0 };
      for (const dirKey of args.dirs) {
        let outcome: string;
        if (args.dryRun) {
          print(`# plan for ${dirKey} (${engine.name} engine, dry run: nothing changes)`);
          const r = await engine.sync(ctx, dirKey, { dryRun: true, print });
          outcome = r.error ? 'failed' : 'planned';
          if (r.error) print(`# ${r.error}`);
        } else {
          outcome = await rsyncSubfolder(ctx, engine, dirKey, totals);
        }
        s.received++;
        s.outcomes[outcome] = (s.outcomes[outcome] ?? 0) + 1;
      }
      s.seconds = Math.round((Date.now() - started) / 100) / 10;
    } else {
      s = await runDirWorker(
        ctx,
        {
          purpose: MODE,
          concurrency: args.concurrency ?? ctx.config.num_messages,
          idleExitSeconds: args.idleExitSeconds ?? 0,
          maxMessages: args.maxMessages ?? 0,
          maxExtensionSeconds: ctx.config.rsync_timeout_seconds + 600,
        },
        (dirKey) => rsyncSubfolder(ctx, engine, dirKey, totals),
      );
    }
    return { ...s, engine: engine.name, copied: totals.copied, skipped: totals.skipped, skippedBy: totals.skippedBy, deleted: totals.deleted, failedObjects: totals.failed };
  } finally {
    await engine.close();
  }
}
