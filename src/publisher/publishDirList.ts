// Mode `publishDirList --purpose syncCheck|rsync`: claims the subfolders due for a sync check (never
// checked, or nothing in GCS yet; not while their objects list still waits to be published) or for an
// rsync (sizes or object counts differ after a check), publishes one message per subfolder, and flags
// each only once Pub/Sub acknowledged its message. A failure releases the row with the reason on it.
// --recheck (syncCheck) also re-publishes, once per run, subfolders whose last check ended before an
// instant (default: this run's start), for a final pass or after suspected damage.
import type { Ctx } from '../common/context.js';
import { classify } from '../common/errors.js';
import { encodeMessage, type DirMessage } from '../common/messages.js';
import { startProgress } from '../common/progress.js';
import { withRetry } from '../common/retry.js';
import { GroupCommit } from './groupCommit.js';
import { claimableRows, releaseFailed, runPublishLoop } from './loop.js';
import { holderOf } from '../state/leases.js';
import { markDirPublished } from '../state/publish.js';
import { claimableWalk, countClaimable, startRecheck, type PendingRow, type Recheck } from '../state/publishable.js';
import { dirKeyHash, openTopic } from './topic.js';

const MODE = 'publishDirList';
export const PURPOSES = ['syncCheck', 'rsync'] as const;
export type Purpose = (typeof PURPOSES)[number];
/** Messages awaiting acknowledgement at once: each is one subfolder, so the client can fill its batches. */
const DIR_PUBLISH_CONCURRENCY = 256;
const CLAIM_BATCH = 256;
/** Most subfolders flagged published by one statement. */
const FLAG_BATCH = 256;
const RETRY_AFTER_SECONDS = 60;
const SAMPLE = 10;

export interface PublishDirArgs {
  purpose: Purpose;
  follow?: boolean;
  dryRun?: boolean;
  retryAfterSeconds?: number;
  /** syncCheck only: also re-publish subfolders whose last check ended before `recheckBefore`. */
  recheck?: boolean;
  /** Default: this run's start (the database's clock); a later instant counts as the run's start. */
  recheckBefore?: Date;
}

export interface PublishDirSummary {
  purpose: Purpose;
  dry_run: boolean;
  /** --recheck: the instant the last check must have ended before (ISO, the database's UTC clock). */
  recheck_before?: string;
  subfolders_published: number;
  subfolders_failed: number;
  subfolders_lease_lost: number;
  failures: { dir_key: string; reason: string }[];
  seconds: number;
}

export async function run(ctx: Ctx, args: PublishDirArgs): Promise<PublishDirSummary> {
  const { config, log, db } = ctx;
  const { purpose } = args;
  if (!PURPOSES.includes(purpose)) throw new Error(`${MODE}: --purpose got ${JSON.stringify(purpose)}, expected one of ${PURPOSES.join(', ')}`);
  if (args.recheckBefore && !args.recheck) throw new Error(`${MODE}: --recheck-before needs --recheck`);
  if (args.recheck && purpose !== 'syncCheck') throw new Error(`${MODE}: --recheck applies to --purpose syncCheck only, got --purpose ${purpose}`);
  if (args.recheckBefore && Number.isNaN(args.recheckBefore.getTime())) throw new Error(`${MODE}: --recheck-before got an invalid date, expected an ISO date such as 2026-01-31T00:00:00Z`);
  const table = config.mysql_table;
  const retry = { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms };
  const started = Date.now();
  const s: PublishDirSummary = { purpose, dry_run: !!args.dryRun, subfolders_published: 0, subfolders_failed: 0, subfolders_lease_lost: 0, failures: [], seconds: 0 };
  let recheck: Recheck | undefined;
  if (args.recheck) {
    recheck = await withRetry(() => startRecheck(db, args.recheckBefore), { ...retry, signal: ctx.signal });
    s.recheck_before = recheck.before.toISOString();
  }
  const progress = startProgress(log, `${MODE} ${purpose}`, { rateKey: 'subfolders' });
  const done = (): PublishDirSummary => {
    progress.stop();
    s.seconds = Math.round((Date.now() - started) / 100) / 10;
    return s;
  };

  if (args.dryRun) {
    for await (const row of claimableRows((after) => claimableWalk(db, table, purpose, after, CLAIM_BATCH, recheck), { ...retry, signal: ctx.signal })) {
      log.info(`${MODE} (dry run): would publish`, { purpose, dir_key: row.dirKey });
      s.subfolders_published++;
      progress.add({ subfolders: 1 });
    }
    return done();
  }

  const topic = await openTopic(ctx, MODE);
  log.info(`${MODE}: starting`, { purpose, table, topic: topic.name, follow: !!args.follow, recheck_before: s.recheck_before });
  // The count only feeds the ETA: it runs beside the claims, never before the first one. Not retried: a
  // run without it publishes the same, without an ETA.
  const counted = countClaimable(db, table, purpose, recheck).then(
    (n) => {
      if (!args.follow) progress.setTotal(n);
      log.info(`${MODE}: counted`, { purpose, subfolders_claimable: n });
    },
    (err: unknown) => log.warn(`${MODE}: could not count the claimable subfolders; progress shows no ETA`, { purpose, error: err }),
  );
  const retryAfter = args.retryAfterSeconds ?? RETRY_AFTER_SECONDS;
  const holder = holderOf(ctx);
  const flags = new GroupCommit<{ id: number }>((rows) => markDirPublished(holder, purpose, rows.map((r) => r.id)), FLAG_BATCH);

  const handle = async (row: PendingRow): Promise<void> => {
    const msg: DirMessage = { v: 1, kind: 'dir', purpose, dir_key: row.dirKey };
    try {
      await topic.publish(encodeMessage(msg), { v: '1', kind: 'dir', purpose, dir_key_sha: dirKeyHash(row.dirKey) });
    } catch (err) {
      const { reason } = classify(err);
      await releaseFailed(ctx, purpose, row, reason, retryAfter);
      s.subfolders_failed++;
      if (s.failures.length < SAMPLE) s.failures.push({ dir_key: row.dirKey, reason });
      log.error(`${MODE}: subfolder not published, released for a retry in ${retryAfter} s`, { purpose, dir_key: row.dirKey, reason });
      return;
    }
    if (await withRetry(() => flags.submit({ id: row.id }), retry)) {
      s.subfolders_published++;
      progress.add({ subfolders: 1 });
    } else {
      s.subfolders_lease_lost++;
      log.warn(`${MODE}: lease was taken over while publishing; the new holder flags the subfolder`, { purpose, dir_key: row.dirKey });
    }
  };

  try {
    await runPublishLoop(ctx, purpose, { concurrency: DIR_PUBLISH_CONCURRENCY, claimBatch: CLAIM_BATCH, follow: !!args.follow, walk: true, recheck, handle });
  } finally {
    // Settled before the run returns: its caller may close the pool next.
    await counted;
  }
  return done();
}
