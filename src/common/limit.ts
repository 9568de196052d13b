// The one bounded-concurrency primitive (STYLE rule 7): every "at most N of these at once" in the tool is
// a Limiter, named where it is made (TRANSFER_CONCURRENCY, LISTING_CONCURRENCY...).
// Three ways in: run() for one task and its result; each() for a list of items and every result (every key
// of a message), queued as one entry however long the list; start() for a producer that must not get
// ahead of the work (a listing feeding copies, a claim queue feeding handlers): it waits for a free slot,
// so at most one task per producer is ever queued.
// Not p-limit: it is on the small-object path once per object, and p-limit 7 makes five promises and a
// bound function per task and settles through extra ticks (measured: 20,000 tasks in 400 batches of 50 at
// 32 at once, p-limit 50-100 ms of CPU, this 15-30 ms; in the worker's profile p-limit was ~45 ms per
// 20,000 small objects). A FIFO array with a moving head of lists, a task of run() being a list of one:
// one entry, one promise and one results array per list. A worker holds ~1,000 keys waiting in a few dozen
// messages, and a closure, a promise and an entry per waiting key lived long enough to be promoted to the
// old generation (measured: ~600 bytes a key, most of the worker's promotion).

export interface Limiter {
  /** Runs fn once fewer than `concurrency` run; settles as fn settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs fn for every item, in order, each once fewer than `concurrency` run (the list waits behind what
   * was queued before it, as its own tasks would); resolves with every result in the items' order. The
   * first failure rejects it and starts none of the items not yet started (those running finish).
   */
  each<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]>;
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

/** The items of one each() (or the one task of a run()) not yet started, from `next` on, and its results. */
interface List {
  items: readonly unknown[];
  fn: (item: unknown, index: number) => Promise<unknown>;
  next: number;
  /** Items not yet settled. */
  left: number;
  results: unknown[];
  failed: boolean;
  resolve: (results: unknown[]) => void;
  reject: (err: unknown) => void;
}

/** Drop the consumed head of the queue once it is this long and more than half the array. */
const COMPACT_AT = 1024;

const call = (task: unknown): Promise<unknown> => (task as () => Promise<unknown>)();
const first = <T>(results: T[]): T => results[0];

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Expected \`concurrency\` to be an integer from 1 and up, got \`${concurrency}\``);
  let active = 0;
  let queue: Array<List | undefined> = [];
  let head = 0;
  let waiting = 0; // items queued, not started
  let started = 0; // given to start() and not yet settled
  let failure: { err: unknown } | undefined;
  let waiters: Array<() => void> = [];

  /**
   * Starts a list's next item in a slot already taken; the slot passes to the next item before the caller
   * hears. The list settles with its last item, or its first failure.
   */
  const go = (l: List): void => {
    const i = l.next++;
    waiting--;
    let p: Promise<unknown>;
    try {
      p = l.fn(l.items[i], i);
    } catch (err) {
      p = Promise.reject(err);
    }
    Promise.resolve(p).then(
      (v) => {
        l.results[i] = v;
        next();
        if (--l.left === 0 && !l.failed) l.resolve(l.results);
      },
      (err: unknown) => {
        const firstFailure = !l.failed;
        if (firstFailure) {
          l.failed = true; // before next(): the slot goes to other work, not to this list's next item
          waiting -= l.items.length - l.next; // never started
        }
        next();
        if (firstFailure) l.reject(err);
      },
    );
  };
  const dropHead = (): void => {
    queue[head++] = undefined; // the entry leaves the array with its last item
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head >= COMPACT_AT && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };
  const next = (): void => {
    active--;
    while (head < queue.length) {
      const l = queue[head]!;
      if (l.failed) {
        dropHead(); // its items not started are already uncounted
        continue;
      }
      if (l.next === l.items.length - 1) dropHead();
      active++;
      return go(l);
    }
  };
  const each = <T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> =>
    new Promise<R[]>((resolve, reject) => {
      if (!items.length) return resolve([]);
      const l: List = { items, fn: fn as List['fn'], next: 0, left: items.length, results: new Array<unknown>(items.length), failed: false, resolve: resolve as List['resolve'], reject };
      waiting += items.length;
      // Queued lists go first (FIFO); free slots take this list's first items now (a failure is heard later).
      while (head === queue.length && active < concurrency && l.next < items.length) {
        active++;
        go(l);
      }
      if (l.next < items.length) queue.push(l);
    });
  // One task is a list of one (run() is off the per-object path: each() carries a message's keys).
  const run = <T>(fn: () => Promise<T>): Promise<T> => each([fn], call as (task: () => Promise<T>) => Promise<T>).then(first);
  const settled = (): void => {
    if (--started > 0) return;
    const w = waiters;
    waiters = [];
    for (const wake of w) wake();
  };
  return {
    run,
    each,
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
      return waiting;
    },
  };
}
