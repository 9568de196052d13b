// Per-subfolder counters of cdnTransfer, summed in memory and added to the state table in batches (one
// UPDATE per subfolder per flush), every flushMs or flushObjects outcomes, and at shutdown.
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import type { Logger } from '../common/log.js';
import { withRetry } from '../common/retry.js';

export interface DirCounts {
  copied_objects: number;
  copied_bytes: number;
  skipped_objects: number;
  failed_objects: number;
  size_only_objects: number;
}

export interface Counters {
  add(dirKey: string, c: Partial<DirCounts>): void;
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left. */
  stop(): Promise<void>;
}

const zero = (): DirCounts => ({ copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 });

export function startCounters(db: Db, table: string, log: Logger, opts: { flushMs?: number; flushObjects?: number } = {}): Counters {
  const t = tableName(table);
  // Adds to the subfolder's counters; 0 rows when the subfolder is not in the table (logged, not fatal).
  const sql = `UPDATE ${t} SET copied_objects = copied_objects + ?, copied_bytes = copied_bytes + ?, skipped_objects = skipped_objects + ?, failed_objects = failed_objects + ?, size_only_objects = size_only_objects + ? WHERE dir_key_sha = UNHEX(SHA2(?, 256))`;
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
        const [res] = await withRetry(() => db.query(sql, [c.copied_objects, c.copied_bytes, c.skipped_objects, c.failed_objects, c.size_only_objects, dirKey]), { maxAttempts: 5, budgetMs: 30_000 });
        if ((res as { affectedRows?: number }).affectedRows === 0) log.warn('cdnTransfer: subfolder not in the state table; its counters are dropped', { dir_key: dirKey, ...c });
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
