// What this worker did, per minute, into MySQL's throughput history (src/state/history.ts): outcomes are
// summed in memory and written on the pacer's heartbeat, one upsert per beat into the current minute's row,
// so the small-object path pays nothing per object. A failed write keeps its sums for the next beat (an
// outage moves them to a later minute, never drops them while the process lives). Every ten minutes a beat
// also rolls samples older than a day up per hour, which bounds the table. Each outcome added here is also
// counted in the Prometheus metrics at once (common/metrics.ts), so the two always agree.
import { hostname } from 'node:os';
import type { Ctx } from '../common/context.js';
import type { ReasonClass } from '../common/errors.js';
import { recordActivity } from '../common/metrics.js';
import { addSample, noActivity, rollUpHistory, type Activity } from '../state/history.js';

export interface History {
  /** Outcomes to add; `failedReason`: the reason class of the failed objects among them (the metrics' label). */
  add(a: Partial<Activity>, failedReason?: ReasonClass): void;
  /** Writes what was added since the last write (the heartbeat calls it); never throws. */
  flush(): Promise<void>;
}

const ROLL_UP_EVERY_MS = 10 * 60_000;

export function startHistory(ctx: Ctx, mode: string): History {
  const { db, log } = ctx;
  const table = ctx.config.mysql_table;
  const host = hostname();
  let pending = noActivity();
  let rolledUpAt = 0;
  const add = (a: Partial<Activity>): void => {
    // for-in, not Object.keys: once per object on the small-object path, no array per call.
    for (const k in a) pending[k as keyof Activity] += a[k as keyof Activity] ?? 0;
  };
  return {
    add(a, failedReason) {
      add(a);
      recordActivity(a, failedReason);
    },
    async flush() {
      const batch = pending;
      pending = noActivity();
      if (Object.values(batch).some((v) => v > 0)) {
        try {
          await addSample(db, table, { mode, workerId: ctx.workerId, host }, batch);
        } catch (err) {
          add(batch);
          log.warn(`${mode}: cannot write the throughput history; kept for the next heartbeat`, { error: err instanceof Error ? err.message : String(err) });
          return;
        }
      }
      if (Date.now() - rolledUpAt < ROLL_UP_EVERY_MS) return;
      rolledUpAt = Date.now();
      await rollUpHistory(db, table).catch((err: unknown) => log.warn(`${mode}: rolling up the throughput history failed; tried again later`, { error: err instanceof Error ? err.message : String(err) }));
    },
  };
}
