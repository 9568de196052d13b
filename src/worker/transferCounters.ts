// Per-subfolder counters of cdnTransfer, counted per finished message and added to the state table in
// batches (one transaction per flush: src/state/counters.ts addMessageCounts), every flushMs or
// flushObjects outcomes, and at shutdown. A message counts once: only when it is acked (every key verified
// or handed to the error topic), and under its Pub/Sub id, so a redelivery of a message already counted
// (its ack lost, or the worker died between the flush and the ack) adds nothing, and a message nacked
// midway counts nothing (its redelivery counts every key, those copied the first time as skipped).
// One flush at a time: a tick or a full batch while a flush runs does nothing, and what was counted
// meanwhile goes with the next flush. So a MySQL outage holds at most one transaction (and its retries) in
// flight, never a growing chain of them; counts are never dropped while the process lives. stop() is
// bounded: after stopTimeoutMs it logs at ERROR exactly what it could not write, instead of hanging.
import type { Db } from '../common/db.js';
import type { Logger } from '../common/log.js';
import { withRetry } from '../common/retry.js';
import { addMessageCounts, pruneCountedMessages, type DirCounts, type MessageCounts } from '../state/counters.js';

export interface Counters {
  /** One acked message's outcomes, under its Pub/Sub id. */
  addMessage(messageId: string, dirKey: string, c: Partial<DirCounts>): void;
  /** Starts a flush, or returns the one in flight (counts added since then go with the next). */
  flush(): Promise<void>;
  /** Stops the timer and flushes what is left, for at most stopTimeoutMs; logs what it could not write. */
  stop(): Promise<void>;
}

export interface CounterOptions {
  flushMs?: number;
  flushObjects?: number;
  /** Retry budget of one flush's transaction. */
  retryBudgetMs?: number;
  /** How long stop() may try to write what is left (e.g. the grace period). */
  stopTimeoutMs?: number;
}

const zero = (): DirCounts => ({ copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 });
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_BATCH = 10_000;

/** Per subfolder, what a list of messages adds (for the shutdown log). */
function bySubfolder(messages: Iterable<MessageCounts>): Record<string, DirCounts & { messages: number }> {
  const out: Record<string, DirCounts & { messages: number }> = {};
  for (const m of messages) {
    const cur = (out[m.dirKey] ??= { ...zero(), messages: 0 });
    for (const k of Object.keys(m.counts) as (keyof DirCounts)[]) cur[k] += m.counts[k];
    cur.messages++;
  }
  return out;
}

export function startCounters(db: Db, table: string, log: Logger, opts: CounterOptions = {}): Counters {
  /** By message id: a message added twice in one process (redelivered to it) is kept once. */
  let pending = new Map<string, MessageCounts>();
  let pendingObjects = 0;
  /** The batch being written; empty once its transaction returned. */
  let writing: MessageCounts[] = [];
  let inFlight: Promise<void> | undefined;
  let prunedAt = 0;
  const stopping = new AbortController();

  const flushOnce = async (): Promise<void> => {
    writing = [...pending.values()];
    pending = new Map();
    pendingObjects = 0;
    try {
      // Safe to retry: a transaction that committed but whose reply was lost finds its message ids recorded.
      const r = await withRetry(() => addMessageCounts(db, table, writing), { maxAttempts: 5, budgetMs: opts.retryBudgetMs ?? 30_000, signal: stopping.signal });
      if (r.alreadyCounted) log.info('cdnTransfer: redelivered messages already counted; not counted again', { messages: r.alreadyCounted });
      // A subfolder not in the table (logged, not fatal).
      for (const dirKey of r.unknownDirs) log.warn('cdnTransfer: subfolder not in the state table; its counters are dropped', { dir_key: dirKey });
      writing = [];
    } catch (err) {
      // MySQL is failing: the batch waits for the next flush, kept in memory, never lost while the process lives.
      log.error('cdnTransfer: cannot update counters; keeping them for the next flush', { messages_kept: writing.length, error: err });
      for (const m of writing) if (!pending.has(m.messageId)) pending.set(m.messageId, m);
      writing = [];
      return;
    }
    if (Date.now() - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = Date.now();
      await pruneCountedMessages(db, table, PRUNE_BATCH).catch((err: unknown) => log.warn('cdnTransfer: pruning counted message ids failed; tried again later', { error: err }));
    }
  };
  const flush = (): Promise<void> => {
    // After stop()'s deadline nothing more is sent: what is left was logged as not written.
    if (inFlight || !pending.size || stopping.signal.aborted) return inFlight ?? Promise.resolve();
    inFlight = flushOnce().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const addMessage = (messageId: string, dirKey: string, c: Partial<DirCounts>): void => {
    const counts = { ...zero(), ...c };
    pending.set(messageId, { messageId, dirKey, counts });
    pendingObjects += counts.copied_objects + counts.skipped_objects + counts.failed_objects;
    if (pendingObjects >= (opts.flushObjects ?? 1000)) void flush();
  };
  const timer = setInterval(() => void flush(), opts.flushMs ?? 2000);
  timer.unref();
  return {
    addMessage,
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
      if (!pending.size && !writing.length) return;
      // A transaction still waiting on MySQL may yet commit; its counts are listed apart from those never
      // sent. Either way their messages were acked: a restart does not count them.
      log.error('cdnTransfer: counters not written at shutdown (MySQL unavailable); add these to the state table by hand', {
        stop_timeout_ms: timeoutMs,
        not_written: bySubfolder(pending.values()),
        in_flight_outcome_unknown: bySubfolder(writing),
      });
    },
  };
}
