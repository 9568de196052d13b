// createLimiter: the one bounded-concurrency primitive, a pure unit (no I/O).
import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/common/limit.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('createLimiter', () => {
  it('starts tasks in the order given, never more than the limit at once, and gives each its own result', async () => {
    const lim = createLimiter(4);
    const started: number[] = [];
    let active = 0;
    let peak = 0;
    // More than the queue's compaction point, so the moving head is compacted while tasks are queued.
    const n = 3000;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        lim.run(async () => {
          started.push(i);
          peak = Math.max(peak, ++active);
          if (i % 7 === 0) await tick();
          else await null;
          active--;
          return i * 2;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: n }, (_, i) => i * 2));
    expect(started).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(peak).toBe(4);
    expect(lim.active).toBe(0);
    expect(lim.queued).toBe(0);
  });

  it('a task that throws, at once or later, rejects its own promise only and frees its slot', async () => {
    const lim = createLimiter(1);
    const sync = lim.run((): Promise<number> => {
      throw new Error('at once');
    });
    const later = lim.run(async () => {
      await tick();
      throw new Error('later');
    });
    const fine = lim.run(async () => 'ok');
    // Heard at once (a rejection left unheard across ticks is reported as unhandled).
    const outcome = (p: Promise<unknown>) => p.then((v) => v, (e: Error) => `rejected: ${e.message}`);
    const heard = [outcome(sync), outcome(later), outcome(fine)];
    expect(lim.queued).toBe(2); // the one that threw holds its slot until its rejection settles
    expect(await Promise.all(heard)).toEqual(['rejected: at once', 'rejected: later', 'ok']);
    expect(lim.active).toBe(0);
  });

  it('counts what runs and what waits', async () => {
    const lim = createLimiter(2);
    const gates: Array<() => void> = [];
    const ps = Array.from({ length: 5 }, () => lim.run(() => new Promise<void>((r) => gates.push(r))));
    expect([lim.active, lim.queued]).toEqual([2, 3]);
    gates.shift()!();
    await tick();
    expect([lim.active, lim.queued]).toEqual([2, 2]);
    while (gates.length || lim.active) {
      gates.shift()?.();
      await tick();
    }
    await Promise.all(ps);
    expect([lim.active, lim.queued]).toEqual([0, 0]);
  });

  it('start() resolves once its task has a slot; idle() waits for all of them and rethrows the first failure', async () => {
    const lim = createLimiter(2);
    const order: string[] = [];
    const gates: Array<() => void> = [];
    const task = (name: string, fail = false) => () =>
      new Promise<void>((resolve, reject) => gates.push(() => (order.push(name), fail ? reject(new Error(name)) : resolve())));
    await lim.start(task('a'));
    await lim.start(task('b', true));
    let third = false;
    const c = lim.start(task('c')).then(() => (third = true));
    await tick();
    expect(third).toBe(false); // both slots taken: the producer waits
    gates.shift()!();
    await c;
    expect(third).toBe(true);
    const idle = lim.idle().then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);
    while (gates.length) {
      gates.shift()!();
      await tick();
    }
    expect(await idle).toBe('rejected: b');
    expect(order).toEqual(['a', 'b', 'c']);
  });
});

describe('createLimiter each()', () => {
  it('runs every item of every list in order behind what was queued before, within the limit, each list resolving with its results in order', async () => {
    const lim = createLimiter(3);
    const started: string[] = [];
    let active = 0;
    let peak = 0;
    const work = (tag: string) => async (n: number, i: number) => {
      started.push(`${tag}${i}`);
      peak = Math.max(peak, ++active);
      if (n % 3 === 0) await tick();
      else await null;
      active--;
      return n * 10;
    };
    // Far more lists than the queue's compaction point, interleaved with single tasks.
    const lists = Array.from({ length: 1500 }, (_, l) => lim.each([l, l + 1, l + 2], work(`L${l}.`)));
    const single = lim.run(async () => (started.push('single'), 'one'));
    const results = await Promise.all(lists);
    expect(await single).toBe('one');
    expect(results).toEqual(Array.from({ length: 1500 }, (_, l) => [l * 10, (l + 1) * 10, (l + 2) * 10]));
    const expected = Array.from({ length: 1500 }, (_, l) => [`L${l}.0`, `L${l}.1`, `L${l}.2`]).flat();
    expect(started).toEqual([...expected, 'single']);
    expect(peak).toBe(3);
    expect([lim.active, lim.queued]).toEqual([0, 0]);
    expect(await lim.each([], work('none'))).toEqual([]);
  });

  it('counts a list’s items as queued until each starts', async () => {
    const lim = createLimiter(2);
    const gates: Array<() => void> = [];
    const gated = () => new Promise<void>((r) => gates.push(r));
    const a = lim.each([1, 2, 3], gated);
    const b = lim.run(gated);
    const c = lim.each([4, 5], gated);
    expect([lim.active, lim.queued]).toEqual([2, 4]);
    while (gates.length || lim.active) {
      gates.shift()?.();
      await tick();
    }
    await Promise.all([a, b, c]);
    expect([lim.active, lim.queued]).toEqual([0, 0]);
  });

  it('the first failure rejects the list and starts none of its items not yet started; other work goes on', async () => {
    const lim = createLimiter(1);
    const started: number[] = [];
    const failing = lim.each([1, 2, 3, 4], async (n) => {
      started.push(n);
      await tick();
      if (n === 2) throw new Error('item 2');
      return n;
    });
    const heard = failing.then(
      (v) => v,
      (e: Error) => `rejected: ${e.message}`,
    );
    const after = lim.each([5, 6], async (n) => (started.push(n), n));
    expect(await heard).toBe('rejected: item 2');
    expect(await after).toEqual([5, 6]);
    expect(started).toEqual([1, 2, 5, 6]);
    expect([lim.active, lim.queued]).toEqual([0, 0]);
    // An item that throws at once rejects the same way.
    await expect(lim.each([1], () => { throw new Error('at once'); })).rejects.toThrow('at once');
    expect([lim.active, lim.queued]).toEqual([0, 0]);
  });
});
