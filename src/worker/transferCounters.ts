// Per-subfolder counters of cdnTransfer, summed in memory and added to the state table in batches (one
// UPDATE per subfolder per flush), every flushMs or flushObjects outcomes, and at shutdown.
import type { Db } from '../common/db.js';
import type { Logger } from '../common/log.js';
import { withRetry } from '../common/retry.js';
import { addTransferCounts, type DirCounts } from '../state/counters.js';

export interface Counters {
  add(dirKey: string, c: Partial<DirCounts>): void;
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left. */
  stop(): Promise<void>;
}

const zero = (): DirCounts => ({ copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 });

export function startCounters(db: Db, table: string, log: Logger, opts: { flushMs?: number; flushObjects?: number } = {}): Counters {
  let pending = new Map<string, DirCounts>();
  let pendingObjects = 0;
  let flushing: Promise<void> = Promise.resolve();

  const flushOnce = async (): Promise<void> => {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    pendingObjects = 0;
    for (const [dirKey, c] of batch) {
      try {
        const rows = await withRetry(() => addTransferCounts(db, table, dirKey, c), { maxAttempts: 5, budgetMs: 30_000 });
        // 0 rows: the subfolder is not in the table (logged, not fatal).
        if (rows === 0) log.warn('cdnTransfer: subfolder not in the state table; its counters are dropped', { dir_key: dirKey, ...c });
      } catch (err) {
        // Kept for the next flush: counters are never silently lost while the process lives.
        log.error('cdnTransfer: cannot update counters; keeping them for the next flush', { dir_key: dirKey, error: err });
        add(dirKey, c);
      }
    }
  };
  const flush = (): Promise<void> => (flushing = flushing.then(flushOnce));
  const add = (dirKey: string, c: Partial<DirCounts>): void => {
    const cur = pending.get(dirKey) ?? zero();
    for (const k of Object.keys(c) as (keyof DirCounts)[]) cur[k] += c[k] ?? 0;
    pending.set(dirKey, cur);
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
      await flush();
    },
  };
}
