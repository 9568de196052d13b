// Mode `rsync` (the reference's worker mode 3, with leases): for each subfolder message, claim the row on
// rsync_in_progress (same exclusion as syncCheck), make GCS match S3 with the configured engine (cdn:
// ours, through the CDN; gcloud: the reference's `gcloud storage rsync`), re-measure both sides and write
// the reference's end state (sizes, counts, rsync_last_end, rsync_frequency + 1, rsync_error). A failure
// goes to the error topic with its reason; the claim is always ended, or left to expire if MySQL is gone.
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { classify } from '../common/errors.js';
import { printable } from '../common/printable.js';
import { redact } from '../common/redact.js';
import { withClaim, type Finished } from '../state/withClaim.js';
import { measure } from './diff.js';
import { subfolderConsumer, type DirDelivery, type DirWorkerSummary, type SubfolderRunArgs } from './dirWorker.js';
import { consume } from './consume.js';
import { reportError } from './errorTopic.js';
import { createCdnEngine } from './rsync/cdn.js';
import { createGcloudEngine } from './rsync/gcloud.js';
import { addResult, emptyResult, type EngineResult, type RsyncEngine } from './rsync/engine.js';

export interface RsyncArgs extends SubfolderRunArgs {
  engine?: 'cdn' | 'gcloud';
  /** Print the plan for --dir subfolders; claims and changes nothing. */
  dryRun?: boolean;
  /** Work on these subfolders directly instead of pulling messages. */
  dirs?: string[];
  print?: (line: string) => void;
}

export interface RsyncSummary extends DirWorkerSummary {
  engine: string;
  copied: number;
  skipped: number;
  /** `skipped` per reason: same-md5, same-source-etag, written-meanwhile. */
  skippedWhy: EngineResult['skippedWhy'];
  deleted: number;
  failedObjects: number;
}

const MODE = 'rsync';

export function createEngine(ctx: Ctx, name: 'cdn' | 'gcloud'): RsyncEngine {
  return name === 'gcloud' ? createGcloudEngine(ctx) : createCdnEngine(ctx);
}

/**
 * Repairs one subfolder under a claim (src/state/withClaim.ts). Outcomes: `equal` / `mismatched` (after
 * the repair; recorded), `busy` (held by another worker: the message comes back later), `requeued` (busy
 * on a late redelivery: left to be published again), `unknown`, `failed`
 * (engine or listing failed: recorded in rsync_error, sent to the error topic), `lost` (lease taken
 * over), `released` (shutdown).
 */
export async function rsyncSubfolder(ctx: Ctx, engine: RsyncEngine, dirKey: string, totals?: EngineResult, delivery?: DirDelivery): Promise<string> {
  let engineError: string | undefined;
  // The repair, then both sides measured again: an engine error is recorded beside the new sizes.
  const repair = async (work: Ctx): Promise<Finished> => {
    const r = await engine.sync(work, dirKey, { dryRun: false, print: () => undefined });
    if (totals) addResult(totals, r);
    engineError = r.error;
    const after = await measure(work, dirKey);
    const measured = { s3Bytes: after.s3.bytes, gcsBytes: after.gcs.bytes, s3Objects: after.s3.objects, gcsObjects: after.gcs.objects };
    return { measured, ...(engineError ? { failed: { error: engineError, reason: `${engine.name} engine: ${engineError}` } } : {}) };
  };
  const r = await withClaim(ctx, {
    mode: MODE,
    dirKey,
    work: repair,
    failure: (err) => `${engineError ? `${engineError}; then ` : ''}listing failed: ${classify(err).reason}`,
    deliveryAttempt: delivery?.deliveryAttempt,
  });
  if (r.outcome === 'failed' || r.outcome === 'unknown') await reportError(ctx, MODE, dirKey, r.reason);
  if (r.outcome === 'equal' || r.outcome === 'mismatched') ctx.log.info(`${MODE}: ${dirKey} ${r.outcome} after ${engine.name} rsync`, { dir_key: dirKey, ...r.measured });
  return r.outcome;
}

export async function run(ctx: Ctx, args: RsyncArgs = {}): Promise<RsyncSummary> {
  requireFields(ctx.config, MODE, ['s3_bucket', 'gcs_bucket']);
  const engine = createEngine(ctx, args.engine ?? ctx.config.rsync_engine);
  const totals = emptyResult();
  try {
    let s: DirWorkerSummary;
    if (args.dryRun || args.dirs?.length) {
      s = await namedDirs(ctx, engine, args, totals);
    } else {
      const c = subfolderConsumer(ctx, MODE, args, (ctx.config.rsync_timeout_seconds + 600) * 1000, (work, dirKey, delivery) => rsyncSubfolder(work, engine, dirKey, totals, delivery));
      s = c.summary(await consume(ctx, c.options));
    }
    return { ...s, engine: engine.name, copied: totals.copied, skipped: totals.skipped, skippedWhy: totals.skippedWhy, deleted: totals.deleted, failedObjects: totals.failed };
  } finally {
    await engine.close();
  }
}

/** `--dir KEY`: the named subfolders one after the other, repaired, or with --dry-run only planned (printed). */
async function namedDirs(ctx: Ctx, engine: RsyncEngine, args: RsyncArgs, totals: EngineResult): Promise<DirWorkerSummary> {
  if (!args.dirs?.length) throw new Error('--dry-run needs the subfolders to plan: give --dir KEY (repeatable); it never consumes queued messages');
  const out = args.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Every plan line (ours, or gcloud's output in its dry run) redacted and escaped: keys may hold newlines
  // or escape sequences, and gcloud may echo a URL with credentials.
  const print = (line: string): void => out(printable(redact(line)));
  const started = Date.now();
  const s: DirWorkerSummary = { received: 0, malformed: 0, deferred: 0, outcomes: {}, seconds: 0 };
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
  return s;
}
