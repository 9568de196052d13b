// Per-subfolder counters of cdnTransfer, summed in memory and added to the state table in batches (one
// UPDATE per subfolder per flush), every flushMs or flushObjects outcomes, and at shutdown.
// One flush at a time: a tick or a full batch while a flush runs does nothing, and what was counted
// meanwhile goes with the next flush. So a MySQL outage holds at most one UPDATE (and its retries) in
// flight, never a growing chain of them; counts are never dropped while the process lives. stop() is
// bounded: after stopTimeoutMs it logs at ERROR exactly what it could not write, instead of hanging.
import type { Db } from '../common/db.js';
import type { Logger } from '../common/log.js';
import { withRetry } from '../common/retry.js';
import { addTransferCounts, type DirCounts } from '../state/counters.js';

export interface Counters {
  add(dirKey: string, c: Partial<DirCounts>): void;
  /** Starts a flush, or returns the one in flight (counts added since then go with the next). */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, for at most stopTimeoutMs; logs what it could not write. */
  stop(): Promise<void>;
}

export interface CounterOptions {
  flushMs?: number;
  flushObjects?: number;
  /** Retry budget of one subfolder's UPDATE. */
  retryBudgetMs?: number;
  /** How long stop() may try to write what is left (e.g. the grace period). */
  stopTimeoutMs?: number;
}

const zero = (): DirCounts => ({ copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 });

function addInto(into: Map<string, DirCounts>, dirKey: string, c: Partial<DirCounts>): void {
  const cur = into.get(dirKey) ?? zero();
  for (const k of Object.keys(c) as (keyof DirCounts)[]) cur[k] += c[k] ?? 0;
  into.set(dirKey, cur);
}

export function startCounters(db: Db, table: string, log: Logger, opts: CounterOptions = {}): Counters {
  let pending = new Map<string, DirCounts>();
  let pendingObjects = 0;
  /** The batch being written: a subfolder leaves it once its UPDATE returned. */
  let writing = new Map<string, DirCounts>();
  let inFlight: Promise<void> | undefined;
  const stopping = new AbortController();

  const flushOnce = async (): Promise<void> => {
    writing = pending;
    pending = new Map();
    pendingObjects = 0;
    for (const [dirKey, c] of writing) {
      try {
        const rows = await withRetry(() => addTransferCounts(db, table, dirKey, c), { maxAttempts: 5, budgetMs: opts.retryBudgetMs ?? 30_000, signal: stopping.signal });
        writing.delete(dirKey);
        // 0 rows: the subfolder is not in the table (logged, not fatal).
        if (rows === 0) log.warn('cdnTransfer: subfolder not in the state table; its counters are dropped', { dir_key: dirKey, ...c });
      } catch (err) {
        // MySQL is failing: the rest of the batch waits for the next flush with this subfolder, rather than
        // each spending its own retry budget now. Kept in memory, never lost while the process lives.
        log.error('cdnTransfer: cannot update counters; keeping them for the next flush', { dir_key: dirKey, subfolders_kept: writing.size, error: err });
        for (const [k, v] of writing) addInto(pending, k, v);
        writing = new Map();
        return;
      }
    }
  };
  const flush = (): Promise<void> => {
    // After stop()'s deadline nothing more is sent: what is left was logged as not written.
    if (inFlight || !pending.size || stopping.signal.aborted) return inFlight ?? Promise.resolve();
    inFlight = flushOnce().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const add = (dirKey: string, c: Partial<DirCounts>): void => {
    addInto(pending, dirKey, c);
    pendingObjects++;
    if (pendingObjects >= (opts.flushObjects ?? 1000)) void flush();
  };
  const timer = setInterval(() => void flush(), opts.flushMs ?? 2000);
  timer.unref();
  return {
    add,
    flush,
    async stop() {
      clearInterval(timer);
      const timeoutMs = opts.stopTimeoutMs ?? 30_000;
      let deadline: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        deadline = setTimeout(() => {
          stopping.abort(new Error(`counters not written within ${timeoutMs} ms of shutdown`));
          resolve();
        }, timeoutMs);
      });
      // The flush in flight, then one for what was counted meanwhile (or left by a failure).
      await Promise.race([(async () => (await inFlight, await flush()))(), timedOut]);
      clearTimeout(deadline);
      if (!pending.size && !writing.size) return;
      // An UPDATE still waiting on MySQL may yet land; its counts are listed apart from those never sent.
      log.error('cdnTransfer: counters not written at shutdown (MySQL unavailable); add these to the state table by hand', {
        stop_timeout_ms: timeoutMs,
        not_written: Object.fromEntries(pending),
        in_flight_outcome_unknown: Object.fromEntries(writing),
      });
    },
  };
}
