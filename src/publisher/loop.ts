// The claim loop every publish mode runs: claim rows in small batches, hand them to a bounded number of
// concurrent handlers, keep the leases of every row in hand alive, and when no work is left either stop
// or (follow) poll again with backoff. Safe with any number of publishers: a row is only ever handled by
// the publisher whose claim statement took it.
import type { Logger } from '../common/log.js';
import { backoffMs, sleep, withRetry, type RetryOptions } from '../common/retry.js';
import type { ClaimResult, PendingRow } from './sql.js';

export interface ClaimLoopOptions {
  /** Rows handled at the same time (each handler publishes one subfolder). */
  concurrency: number;
  /** Rows taken per claim statement: small, so publishers share the work and a claim is quick. */
  claimBatch: number;
  follow: boolean;
  leaseSeconds: number;
  signal: AbortSignal;
  log: Logger;
  retry: { maxAttempts: number; budgetMs: number };
  /** Claims up to `limit` rows. */
  claim(limit: number): Promise<ClaimResult>;
  /** Reads back the rows this publisher holds. */
  owned(limit: number): Promise<PendingRow[]>;
  /** Extends the leases of these rows; returns how many are still held. */
  renew(ids: number[]): Promise<number>;
  /** Publishes one row and marks or releases it. Must not throw: its row is its own to release. */
  handle(row: PendingRow): Promise<void>;
  /** Gives back a row claimed but not started (shutdown). */
  giveBack(row: PendingRow): Promise<void>;
}

/** Claims in a row that lost every candidate to other publishers before we back off as if idle. */
const MAX_COLLISIONS = 10;
/** Longest pause between polls when following and nothing is left to publish. */
const FOLLOW_MAX_IDLE_MS = 30_000;

export async function runClaimLoop(o: ClaimLoopOptions): Promise<void> {
  const queue: PendingRow[] = [];
  const held = new Map<number, PendingRow>(); // queued or being handled: the leases to keep alive
  let exhausted = false;
  let refilling: Promise<void> | undefined;
  let idlePolls = 0;
  // Rows finished while a refill runs: its SELECT may have read them before their flag committed, and
  // they must not be handled twice.
  let finishedDuringRefill: Set<number> | undefined;
  const retry = { ...o.retry, signal: o.signal, onRetry: (i: { attempt: number; delayMs: number; reason: string }) => o.log.warn('publisher: claim failed, retrying', i) };

  const refill = async (): Promise<void> => {
    finishedDuringRefill = new Set();
    try {
      await claimMore();
    } finally {
      finishedDuringRefill = undefined;
    }
  };

  const claimMore = async (): Promise<void> => {
    let collisions = 0;
    while (!o.signal.aborted) {
      const { seen, claimed: n } = await withRetry(() => o.claim(o.claimBatch), retry);
      // Another publisher took every candidate first: there is work, look again at once.
      if (n === 0 && seen > 0 && ++collisions < MAX_COLLISIONS) continue;
      if (n > 0) {
        const rows = await withRetry(() => o.owned(held.size + n + o.claimBatch), retry);
        for (const r of rows) {
          if (held.has(r.id) || finishedDuringRefill?.has(r.id)) continue;
          held.set(r.id, r);
          queue.push(r);
        }
        if (queue.length) {
          idlePolls = 0;
          return;
        }
      }
      if (!o.follow) {
        exhausted = true;
        return;
      }
      idlePolls++;
      await sleep(500 + backoffMs(idlePolls, 1000, FOLLOW_MAX_IDLE_MS), o.signal).catch(() => undefined);
    }
  };

  const next = async (): Promise<PendingRow | undefined> => {
    while (!queue.length && !exhausted && !o.signal.aborted) {
      refilling ??= refill().finally(() => (refilling = undefined));
      await refilling;
    }
    return o.signal.aborted ? undefined : queue.shift();
  };

  // A lease outlives a long subfolder only if renewed well before it runs out.
  const renewEveryMs = Math.max(250, (o.leaseSeconds * 1000) / 3);
  const renewTimer = setInterval(() => {
    const ids = [...held.keys()];
    o.renew(ids).then(
      // Fewer than asked is usually a row flagged meanwhile; a real takeover is reported by the handler,
      // whose flag then matches nothing.
      (still) => o.log.debug('publisher: leases renewed', { asked: ids.length, renewed: still }),
      (err: unknown) => o.log.warn('publisher: lease renewal failed (will retry)', { error: err }),
    );
  }, renewEveryMs);
  renewTimer.unref();

  const worker = async (): Promise<void> => {
    for (let row = await next(); row; row = await next()) {
      try {
        await o.handle(row);
      } finally {
        held.delete(row.id);
        finishedDuringRefill?.add(row.id);
      }
    }
  };

  try {
    const results = await Promise.allSettled(Array.from({ length: o.concurrency }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    clearInterval(renewTimer);
    // Shutdown (or a failed claim): rows claimed but never started go back at once, not after their lease.
    for (const row of queue.splice(0)) {
      await o.giveBack(row).catch((err: unknown) => o.log.warn('publisher: could not give back a row; it is retried after its lease', { dir_key: row.dirKey, error: err }));
      held.delete(row.id);
    }
  }
}

/**
 * A dry run's walk: every claimable row, page by page in id order, without claiming anything (so a dry run
 * never changes a row). Stops early on shutdown.
 */
export async function* claimableRows(page: (afterId: number) => Promise<PendingRow[]>, retry: RetryOptions): AsyncGenerator<PendingRow> {
  for (let afterId = 0; ; ) {
    const rows = await withRetry(() => page(afterId), retry);
    if (!rows.length || retry.signal?.aborted) return;
    yield* rows;
    afterId = rows[rows.length - 1].id;
  }
}
