// The life of one worker claim, shared by syncCheck and rsync: claim the subfolder's row, hold the lease
// while the mode works on it, then record the end (finish), the failure (fail) or give the row back
// (release). A mode supplies only its work (what it measures or repairs) and reads the outcome; the
// caller reports `failed` and `unknown` to the error topic (withClaim never publishes).
import type { Ctx } from '../common/context.js';
import { classify, toError } from '../common/errors.js';
import { redact } from '../common/redact.js';
import { m as metrics } from '../common/metrics.js';
import { holderOf, type Holder, type WorkMode } from './leases.js';
import { claimDir, dirExists, failDir, finishDir, releaseDir, renewDirLease, unpublishDir, type DeepResult, type Measured } from './work.js';

/** What the work measured, recorded by finishDir. */
export interface Finished {
  measured: Measured;
  /** syncCheck --deep: the per-object diff (NULL after a shallow check). */
  deep?: DeepResult | null;
  /**
   * The work ran and measured but did not succeed (an rsync engine error): `error` is recorded in
   * `*_error` beside the measurement, and the outcome is `failed` with `reason`.
   */
  failed?: { error: string; reason: string };
}

/**
 * How a claim ended:
 * - `equal` / `mismatched`: recorded; equal when sizes, object counts and (deep) every object match;
 * - `failed`: recorded in `*_error` (the work threw, or returned Finished.failed);
 * - `unknown`: no such row, nothing recorded;
 * - `busy`: the other mode or a live lease holds the row; nothing is recorded, the caller has the message
 *   redelivered later (its published flag stays as the publisher set it);
 * - `requeued`: busy, and the message had already come back UNPUBLISH_AFTER_DELIVERIES times: its published
 *   flag is cleared instead (unpublishDir), so the publisher sends the row again, and the message can go;
 * - `lost`: the lease expired and was taken over; the new holder's result stands, nothing recorded;
 * - `released`: shutdown mid-work; the row is given back untouched, to be published again.
 */
export type ClaimOutcome =
  | { outcome: 'equal' | 'mismatched'; measured: Measured; deep: DeepResult | null }
  | { outcome: 'failed' | 'unknown'; reason: string }
  | { outcome: 'busy' | 'requeued' | 'lost' | 'released' };

/**
 * A busy subfolder's message is deferred (redelivered later) this many times, then handed back to the
 * publisher: Pub/Sub's smallest max_delivery_attempts is 5, so a dead-letter policy never takes it.
 */
export const UNPUBLISH_AFTER_DELIVERIES = 4;

export interface ClaimedWork {
  mode: WorkMode;
  dirKey: string;
  /**
   * Measures or repairs the subfolder. Its ctx's signal aborts when the caller's signal does (under
   * consume(): the hard stop after the grace period) or when the lease is lost: the work should stop then
   * (throwing is fine: withClaim tells those cases apart from a failure).
   */
  work(ctx: Ctx): Promise<Finished>;
  /** The reason recorded when the work throws (default: `listing failed: <classified reason>`); redacted. */
  failure?(err: unknown): string;
  /** Pub/Sub's delivery attempt of the message (0: unknown, no dead-letter policy). */
  deliveryAttempt?: number;
}

/**
 * claim -> hold -> work -> finish | fail | release, for one subfolder row of `job.mode`.
 * - Not claimable: `busy` (row held: the caller defers the message), `requeued` (held, and the message came
 *   back often enough: unpublishDir gives the row back to the publisher) or `unknown` (no such row).
 * - While the work runs the lease is renewed every lease_seconds / 3. A failed renewal is logged and tried
 *   again at the next tick (the lease outlives two misses); a renewal that finds the row taken over aborts
 *   the work's signal, and the outcome is `lost`.
 * - The work throws: `lost` (lease lost), `released` (shutdown: releaseDir), else `failed` (failDir).
 * - The work returns: finishDir records it (`lost` if the lease is gone by then), then `failed` (Finished.failed),
 *   `equal` or `mismatched`.
 * A MySQL error on claim, finish, fail or release is thrown: the claim, if taken, is left to expire.
 */
export async function withClaim(ctx: Ctx, job: ClaimedWork): Promise<ClaimOutcome> {
  const h = holderOf(ctx);
  const { mode, dirKey } = job;
  if (!(await claimDir(h, mode, dirKey))) {
    if (!(await dirExists(h, dirKey))) return { outcome: 'unknown', reason: `subfolder ${dirKey} is not in table ${h.table}: message dropped` };
    // Busy. The flag is not cleared here on a first delivery: that raced the publisher, which flags a row
    // only after Pub/Sub took its message (a fast worker's clear landed first, the flag after it, and the
    // acked message was gone while the row stayed flagged). A flag off (not flagged yet) keeps the message.
    if ((job.deliveryAttempt ?? 0) >= UNPUBLISH_AFTER_DELIVERIES && (await unpublishDir(h, mode, dirKey))) return { outcome: 'requeued' };
    return { outcome: 'busy' };
  }
  // We MUST end the claim once we have taken it: finish, fail or release below; if MySQL itself is gone,
  // the lease expires and another worker takes the row over.
  metrics.claims.inc({ lease: 'subfolder' });
  const lease = holdLease(ctx, h, mode, dirKey);
  try {
    let done: Finished;
    try {
      done = await job.work({ ...ctx, signal: lease.signal });
    } catch (err) {
      if (lease.lost()) return { outcome: 'lost' };
      if (ctx.signal.aborted) {
        await releaseDir(h, mode, dirKey);
        return { outcome: 'released' };
      }
      const reason = redact(job.failure ? job.failure(err) : `listing failed: ${classify(err).reason}`);
      ctx.log.error(`${mode}: ${dirKey} ${reason}`, { dir_key: dirKey, error: toError(err) });
      await failDir(h, mode, dirKey, reason, ctx.config.rsync_backoff_seconds);
      return { outcome: 'failed', reason };
    }
    const { measured: m, deep = null, failed } = done;
    const equal = !failed && isEqual(m, deep);
    if (!(await finishDir(h, mode, dirKey, m, failed?.error ?? null, deep, { equal, rsyncBackoffSeconds: ctx.config.rsync_backoff_seconds }))) return { outcome: 'lost' };
    if (failed) return { outcome: 'failed', reason: failed.reason };
    return { outcome: equal ? 'equal' : 'mismatched', measured: m, deep };
  } finally {
    lease.end();
  }
}

/** Equal: sizes and object counts match, and a deep diff (if any) found nothing missing, different or extra. */
export function isEqual(m: Measured, deep: DeepResult | null): boolean {
  return m.s3Bytes === m.gcsBytes && m.s3Objects === m.gcsObjects && (!deep || deep.missing + deep.different + deep.extra === 0);
}

interface HeldLease {
  /** Aborts when shutdown starts or the lease is lost: the work's signal. */
  signal: AbortSignal;
  lost(): boolean;
  /** Stops renewing and unlinks from the shutdown signal. */
  end(): void;
}

/**
 * Renews the lease while the work runs, so long work never loses its row. Its signal is one
 * AbortController per claim, linked to the shutdown signal by a listener that end() removes: an
 * AbortSignal.any() over the process's long-lived signal is never freed on Node 20 (200,000 of them grew
 * RSS by ~770 MiB), and neither is a listener left behind.
 */
function holdLease(ctx: Ctx, h: Holder, mode: WorkMode, dirKey: string): HeldLease {
  const ctl = new AbortController();
  const onShutdown = (): void => ctl.abort(ctx.signal.reason);
  if (ctx.signal.aborted) onShutdown();
  else ctx.signal.addEventListener('abort', onShutdown, { once: true });
  let lost = false;
  let ended = false;
  const timer = setInterval(() => {
    renewDirLease(h, mode, dirKey).then(
      (held) => {
        metrics.leaseRenewals.inc({ lease: 'subfolder', result: held ? 'renewed' : 'lost' });
        if (held || ended) return;
        lost = true;
        ctl.abort(new Error(`lease on ${dirKey} lost: another worker took it over after it expired`));
      },
      // A failed renewal is not a lost lease: the next tick tries again before the lease runs out.
      (err) => {
        metrics.leaseRenewals.inc({ lease: 'subfolder', result: 'failed' });
        ctx.log.warn(`${mode}: lease renewal failed for ${dirKey}`, { error: toError(err) });
      },
    );
  }, Math.max(1000, (h.leaseSeconds * 1000) / 3));
  return {
    signal: ctl.signal,
    lost: () => lost,
    end: () => {
      ended = true;
      clearInterval(timer);
      ctx.signal.removeEventListener('abort', onShutdown);
    },
  };
}
