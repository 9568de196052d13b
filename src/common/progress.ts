// Progress for long work: totals, rate and ETA, logged every intervalMs (never per item).
import type { Logger } from './log.js';

export interface Progress {
  add(counts: Record<string, number>): void;
  /** Sets the expected total of the first counter, for the ETA. */
  setTotal(total: number): void;
  snapshot(): Record<string, number>;
  stop(): void;
}

/**
 * `rateKey`: the counter whose rate is logged; `totalKey` (default rateKey): the counter setTotal() and
 * the ETA are about, when the total is known of something else (subfolders) than the rate (objects).
 */
export function startProgress(log: Logger, what: string, opts: { intervalMs?: number; rateKey: string; totalKey?: string }): Progress {
  const started = Date.now();
  const counts: Record<string, number> = {};
  let total: number | undefined;
  let lastAt = started;
  let lastRateCount = 0;
  const report = (final: boolean): void => {
    const now = Date.now();
    const done = counts[opts.rateKey] ?? 0;
    const elapsedS = (now - started) / 1000;
    const windowRate = ((done - lastRateCount) / Math.max(1, now - lastAt)) * 1000;
    const avgRate = done / Math.max(0.001, elapsedS);
    const fields: Record<string, unknown> = { ...counts, elapsed_s: Math.round(elapsedS), rate_per_s: Math.round((final ? avgRate : windowRate) * 10) / 10 };
    if (total !== undefined) {
      const totalKey = opts.totalKey ?? opts.rateKey;
      const finished = counts[totalKey] ?? 0;
      const finishedRate = finished / Math.max(0.001, elapsedS);
      fields.total = total;
      fields.percent = total ? Math.round((finished / total) * 1000) / 10 : 100;
      if (finishedRate > 0 && !final) fields.eta_s = Math.round((total - finished) / finishedRate);
    }
    log.info(final ? `${what}: done` : `${what}: progress`, fields);
    lastAt = now;
    lastRateCount = done;
  };
  const timer = setInterval(() => report(false), opts.intervalMs ?? 5000);
  timer.unref();
  return {
    add(c) {
      // for-in, not Object.entries: called once per object on the small-object path, no array per key.
      for (const k in c) counts[k] = (counts[k] ?? 0) + c[k];
    },
    setTotal(t) {
      total = t;
    },
    snapshot: () => ({ ...counts }),
    stop() {
      clearInterval(timer);
      report(true);
    },
  };
}
