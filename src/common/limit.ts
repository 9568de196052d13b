// The one bounded-concurrency primitive (STYLE rule 7): every "at most N of these at once" in the tool is
// a Limiter, named where it is made (TRANSFER_CONCURRENCY, LISTING_CONCURRENCY...). Built on p-limit.
// Two ways in: run() for callers that hold many tasks and want each result (every key of a message),
// start() for a producer that must not get ahead of the work (a listing feeding copies, a claim queue
// feeding handlers): it waits for a free slot, so at most one task per producer is ever queued.
import pLimit from 'p-limit';

export interface Limiter {
  /** Runs fn once fewer than `concurrency` run; settles as fn settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Waits for a free slot and starts fn in it; resolves once fn has started, not finished. A failure of
   * fn is kept for idle(), which rethrows the first one: fn should handle its own failures.
   */
  start(fn: () => Promise<unknown>): Promise<void>;
  /** Resolves once every task given to start() has settled; then throws the first failure among them. */
  idle(): Promise<void>;
  /** Running now. */
  readonly active: number;
  /** Waiting for a slot. */
  readonly queued: number;
}

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Expected \`concurrency\` to be an integer from 1 and up, got \`${concurrency}\``);
  const limit = pLimit(concurrency);
  let started = 0; // given to start() and not yet settled
  let failure: { err: unknown } | undefined;
  let waiters: Array<() => void> = [];
  const settled = (): void => {
    if (--started > 0) return;
    const w = waiters;
    waiters = [];
    for (const wake of w) wake();
  };
  return {
    run: (fn) => limit(fn),
    start(fn) {
      started++;
      return new Promise<void>((resolve) => {
        limit(() => {
          resolve();
          return fn();
        }).then(settled, (err: unknown) => {
          failure ??= { err };
          settled();
        });
      });
    },
    async idle() {
      while (started > 0) await new Promise<void>((resolve) => waiters.push(resolve));
      if (failure) throw failure.err;
    },
    get active() {
      return limit.activeCount;
    },
    get queued() {
      return limit.pendingCount;
    },
  };
}
