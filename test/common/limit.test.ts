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
