// The claim loop every publish mode runs: claim rows in small batches, hand them to a bounded number of
// concurrent handlers, let a bounded number more finish (wait for Pub/Sub, flag) behind them, keep the
// leases of every row in hand alive, and when no work is left either stop or (follow) poll again with
// backoff. Claims follow the handlers, not the finishing rows, so a publisher takes only what it can
// work on. Safe with any number of publishers: a row is only ever handled by the publisher whose claim
// statement took it.
import type { Logger } from '../common/log.js';
import { backoffMs, sleep, withRetry, type RetryOptions } from '../common/retry.js';
import type { ClaimResult } from '../state/publish.js';
import type { PendingRow } from '../state/publishable.js';

/** A handled row still finishing (waiting for Pub/Sub's acknowledgements, its flag) behind the handlers. */
export interface Finishing {
  /** Settles when the row is flagged or released. Must not reject unless the loop is to fail. */
  done: Promise<void>;
}

export interface ClaimLoopOptions {
  /** Rows handled at the same time (each handler lists and hands over one subfolder). */
  concurrency: number;
  /** Rows finishing at the same time behind the handlers (default: none, handlers finish their rows). */
  maxFinishing?: number;
  /**
   * Most rows taken per claim statement. A claim asks for what the handlers used up since the last one,
   * doubled (at least `concurrency`): small while subfolders are big, so publishers share the work; up to
   * this while they are tiny, so claiming keeps up with them.
   */
  claimBatch: number;
  follow: boolean;
  leaseSeconds: number;
  signal: AbortSignal;
  log: Logger;
  retry: { maxAttempts: number; budgetMs: number };
  /**
   * Claims up to `limit` rows, returning those it took. A claim that walks the table in id order takes
   * `afterId` and returns `next`; the loop carries it on and starts again from 0 at the end of the table.
   */
  claim(limit: number, afterId: number): Promise<ClaimResult>;
  /** Extends the leases of these rows; returns how many are still held. */
  renew(ids: number[]): Promise<number>;
  /**
   * Publishes one row and marks or releases it, or returns what is left to finish it. Must not throw:
   * its row is its own to release.
   */
  handle(row: PendingRow): Promise<Finishing | undefined | void>;
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
  // The first claim that failed (retries spent) or row that failed to finish: the loop fails with it.
  let failure: { err: unknown } | undefined;
  let idlePolls = 0;
  let claimSize = Math.min(o.concurrency, o.claimBatch);
  let taken = 0; // rows handed to handlers since the last claim started
  let cursor = 0; // a walking claim's position (id)
  const retry = { ...o.retry, signal: o.signal, onRetry: (i: { attempt: number; delayMs: number; reason: string }) => o.log.warn('publisher: claim failed, retrying', i) };

  const claimMore = async (): Promise<void> => {
    let collisions = 0;
    while (!o.signal.aborted) {
      claimSize = Math.min(o.claimBatch, Math.max(o.concurrency, 2 * taken));
      taken = 0;
      const from = cursor;
      const { seen, rows, next } = await withRetry(() => o.claim(claimSize, from), retry);
      if (next !== undefined) {
        // A walk: at the end of the table, start again from its beginning before calling it exhausted
        // (rows behind the cursor may have become claimable since, e.g. a check's lease expired).
        if (seen === 0 && from > 0) {
          cursor = 0;
          continue;
        }
        cursor = next;
        // Another publisher took these first: walk on.
        if (rows.length === 0 && seen > 0) continue;
      } else if (rows.length === 0 && seen > 0 && ++collisions < MAX_COLLISIONS) continue; // taken first: look again at once
      let added = 0;
      for (const r of rows) {
        // Only a row whose lease ran out while we still handle it (renewal failed) comes back to us.
        if (held.has(r.id)) continue;
        held.set(r.id, r);
        queue.push(r);
        added++;
      }
      if (added) {
        idlePolls = 0;
        return;
      }
      if (rows.length) continue; // all already in hand (re-taken after a failed renewal): not the end
      if (!o.follow) {
        exhausted = true;
        return;
      }
      idlePolls++;
      await sleep(500 + backoffMs(idlePolls, 1000, FOLLOW_MAX_IDLE_MS), o.signal).catch(() => undefined);
    }
  };

  // One claim at a time; a failed one fails the loop through the next handler to ask.
  const startRefill = (): Promise<void> =>
    (refilling ??= claimMore()
      .catch((err: unknown) => void (failure ??= { err }))
      .finally(() => (refilling = undefined)));

  const next = async (): Promise<PendingRow | undefined> => {
    while (!o.signal.aborted) {
      if (failure) throw failure.err;
      // The next claim starts while half the last one is still queued, so handlers rarely wait on it.
      if (queue.length <= claimSize / 2 && !exhausted) void startRefill();
      if (queue.length) {
        taken++;
        return queue.shift();
      }
      if (exhausted) return undefined;
      await startRefill();
    }
    return undefined;
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

  const finishing = new Set<Promise<void>>();
  let finishWaiters: Array<() => void> = [];
  const finished = (): void => {
    const w = finishWaiters;
    finishWaiters = [];
    for (const wake of w) wake();
  };

  const worker = async (): Promise<void> => {
    for (let row = await next(); row; row = await next()) {
      let rest: Finishing | undefined | void;
      try {
        rest = await o.handle(row);
      } finally {
        if (!rest) held.delete(row.id);
      }
      if (!rest) continue;
      const id = row.id;
      const f: Promise<void> = rest.done
        .catch((err: unknown) => void (failure ??= { err }))
        .finally(() => {
          held.delete(id);
          finishing.delete(f);
          finished();
        });
      finishing.add(f);
      while (finishing.size >= (o.maxFinishing ?? 0) && finishing.size > 0) await new Promise<void>((resolve) => finishWaiters.push(resolve));
      if (failure) throw failure.err;
    }
  };

  try {
    const results = await Promise.allSettled(Array.from({ length: o.concurrency }, worker));
    // Rows still finishing are flagged or released before the loop ends, whatever ended it.
    await Promise.all(finishing);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (failure) throw failure.err;
  } finally {
    clearInterval(renewTimer);
    // A claim still running (shutdown) may yet add rows: they go back with the rest.
    if (refilling) await refilling;
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
