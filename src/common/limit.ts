// The one bounded-concurrency primitive (STYLE rule 7): every "at most N of these at once" in the tool is
// a Limiter, named where it is made (TRANSFER_CONCURRENCY, LISTING_CONCURRENCY...).
// Three ways in: run() for one task and its result; each() for a list of items and every result (every key
// of a message), queued as one entry however long the list; start() for a producer that must not get
// ahead of the work (a listing feeding copies, a claim queue feeding handlers): it waits for a free slot,
// so at most one task per producer is ever queued.
// Not p-limit: it is on the small-object path once per object, and p-limit 7 makes five promises and a
// bound function per task and settles through extra ticks (measured: 20,000 tasks in 400 batches of 50 at
// 32 at once, p-limit 50-100 ms of CPU, this 15-30 ms; in the worker's profile p-limit was ~45 ms per
// 20,000 small objects). A FIFO array with a moving head: no allocation per task but the caller's promise
// and the queue entry. each() keeps one entry, one promise and one results array per list: a worker holds
// ~1,000 keys waiting in a few dozen messages, and a closure, a promise and an entry per waiting key lived
// long enough to be promoted to the old generation (measured: ~600 bytes a key, most of the worker's
// promotion).

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

/** One task of run(), or one list of each(): its items not yet started are started from `next` on. */
interface Queued {
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (err: unknown) => void;
  list?: List;
}

interface List {
  items: readonly unknown[];
  fn: (item: unknown, index: number) => Promise<unknown>;
  next: number;
  /** Items not yet settled. */
  left: number;
  results: unknown[];
  failed: boolean;
}

/** Drop the consumed head of the queue once it is this long and more than half the array. */
const COMPACT_AT = 1024;

const noTask = (): Promise<unknown> => Promise.resolve();

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Expected \`concurrency\` to be an integer from 1 and up, got \`${concurrency}\``);
  let active = 0;
  let queue: Array<Queued | undefined> = [];
  let head = 0;
  let waiting = 0; // tasks and list items queued, not started
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
  /** Starts a list's next item in a slot already taken; the list settles with its last item or first failure. */
  const goItem = (q: Queued, l: List): void => {
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
        if (--l.left === 0 && !l.failed) q.resolve(l.results);
      },
      (err: unknown) => {
        const first = !l.failed;
        if (first) {
          l.failed = true; // before next(): the slot goes to other work, not to this list's next item
          waiting -= l.items.length - l.next; // never started
        }
        next();
        if (first) q.reject(err);
      },
    );
  };
  const dropHead = (): void => {
    queue[head++] = undefined; // the entry leaves the array with its last task
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
      const t = queue[head]!;
      const l = t.list;
      if (!l) {
        dropHead();
        waiting--;
        active++;
        return go(t.fn, t.resolve, t.reject);
      }
      if (l.failed) {
        dropHead(); // its items not started are already uncounted
        continue;
      }
      if (l.next === l.items.length - 1) dropHead();
      active++;
      return goItem(t, l);
    }
  };
  const run = <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const res = resolve as (v: unknown) => void;
      if (active < concurrency) {
        active++;
        go(fn, res, reject);
      } else {
        waiting++;
        queue.push({ fn, resolve: res, reject });
      }
    });
  const each = <T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> =>
    new Promise<R[]>((resolve, reject) => {
      if (!items.length) return resolve([]);
      const l: List = { items, fn: fn as List['fn'], next: 0, left: items.length, results: new Array<unknown>(items.length), failed: false };
      const q: Queued = { fn: noTask, resolve: resolve as (v: unknown) => void, reject, list: l };
      waiting += items.length;
      // Queued lists go first (FIFO); a free slot takes this list's first items now.
      while (head === queue.length && active < concurrency && l.next < items.length && !l.failed) {
        active++;
        goItem(q, l);
      }
      if (l.next < items.length && !l.failed) queue.push(q);
    });
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
