// The one bounded-concurrency primitive (STYLE rule 7): every "at most N of these at once" in the tool is
// a Limiter, named where it is made (TRANSFER_CONCURRENCY, LISTING_CONCURRENCY...).
// Two ways in: run() for callers that hold many tasks and want each result (every key of a message),
// start() for a producer that must not get ahead of the work (a listing feeding copies, a claim queue
// feeding handlers): it waits for a free slot, so at most one task per producer is ever queued.
// Not p-limit: it is on the small-object path once per object, and p-limit 7 makes five promises and a
// bound function per task and settles through extra ticks (measured: 20,000 tasks in 400 batches of 50 at
// 32 at once, p-limit 50-100 ms of CPU, this 15-30 ms; in the worker's profile p-limit was ~45 ms per
// 20,000 small objects). A FIFO array with a moving head: no allocation per task but the caller's promise
// and the queue entry.

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

interface Queued {
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
}

/** Drop the consumed head of the queue once it is this long and more than half the array. */
const COMPACT_AT = 1024;

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Expected \`concurrency\` to be an integer from 1 and up, got \`${concurrency}\``);
  let active = 0;
  let queue: Array<Queued | undefined> = [];
  let head = 0;
  let started = 0; // given to start() and not yet settled
  let failure: { err: unknown } | undefined;
  let waiters: Array<() => void> = [];

  /** Runs fn in a slot already taken; the slot passes to the next task before the caller hears. */
  const go = (fn: () => Promise<unknown>, resolve: (v: unknown) => void, reject: (err: unknown) => void): void => {
    let p: Promise<unknown>;
    try {
      p = fn();
    } catch (err) {
      p = Promise.reject(err);
    }
    Promise.resolve(p).then(
      (v) => (next(), resolve(v)),
      (err: unknown) => (next(), reject(err)),
    );
  };
  const next = (): void => {
    active--;
    if (head === queue.length) return;
    const t = queue[head]!;
    queue[head++] = undefined; // the entry leaves the array with the task
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head >= COMPACT_AT && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    active++;
    go(t.fn, t.resolve, t.reject);
  };
  const run = <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const res = resolve as (v: unknown) => void;
      if (active < concurrency) {
        active++;
        go(fn, res, reject);
      } else queue.push({ fn, resolve: res, reject });
    });
  const settled = (): void => {
    if (--started > 0) return;
    const w = waiters;
    waiters = [];
    for (const wake of w) wake();
  };
  return {
    run,
    start(fn) {
      started++;
      return new Promise<void>((resolve) => {
        run(() => {
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
      return active;
    },
    get queued() {
      return queue.length - head;
    },
  };
}
