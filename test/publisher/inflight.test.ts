// The publish budget and windows: how a publisher with hundreds of subfolders in hand, each of possibly
// millions of keys, stays within bounded memory, and how each subfolder learns its own outcome.
import { describe, expect, it } from 'vitest';
import { InflightWindow, PublishBudget } from '../../src/publisher/inflight.js';

function deferred(): { promise: Promise<string>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<string>((res, rej) => {
    resolve = () => res('id');
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('PublishBudget + InflightWindow', () => {
  it('holds every subfolder while the shared budget of messages is spent, and lets them go as publishes settle', async () => {
    const budget = new PublishBudget(2, 1e9);
    const [w1, w2] = [new InflightWindow(budget), new InflightWindow(budget)];
    const [a, b, c] = [deferred(), deferred(), deferred()];
    let started = 0;
    const pub = (d: { promise: Promise<string> }) => () => (started++, d.promise);
    await w1.add(pub(a), 1);
    await w2.add(pub(b), 1);
    let added = false;
    const adding = w1.add(pub(c), 1).then(() => (added = true));
    await tick();
    expect(added).toBe(false); // two outstanding across both subfolders: full
    expect(started).toBe(2); // and the third publish was not even started
    b.resolve(); // the other subfolder's publish frees the room
    await adding;
    expect(started).toBe(3);
    await w2.drain();
    a.resolve();
    c.resolve();
    await w1.drain();
  });

  it('holds on bytes as well; a message larger than the whole budget goes alone', async () => {
    const budget = new PublishBudget(100, 10);
    const w = new InflightWindow(budget);
    const [a, b] = [deferred(), deferred()];
    await w.add(() => a.promise, 12); // alone: admitted although over the budget
    let added = false;
    const adding = w.add(() => b.promise, 1).then(() => (added = true));
    await tick();
    expect(added).toBe(false);
    a.resolve();
    await adding;
    b.resolve();
    await w.drain();
  });

  it('surfaces the first failure to its own subfolder only; drain still waits for every outstanding publish', async () => {
    const budget = new PublishBudget(10, 1e9);
    const [w, other] = [new InflightWindow(budget), new InflightWindow(budget)];
    const [a, b] = [deferred(), deferred()];
    await w.add(() => a.promise, 1);
    await w.add(() => b.promise, 1);
    a.reject(new Error('UNAVAILABLE'));
    await tick();
    await expect(w.add(() => Promise.resolve('x'), 1)).rejects.toThrow('UNAVAILABLE');
    await other.add(() => Promise.resolve('y'), 1);
    await other.drain(); // unaffected
    let drained = false;
    const draining = w.drain().catch((e: Error) => ((drained = true), e.message));
    await tick();
    expect(drained).toBe(false); // b is still outstanding
    b.resolve();
    expect(await draining).toBe('UNAVAILABLE');
  });

  it('counts a publish that throws at once as a failure and gives its room back', async () => {
    const budget = new PublishBudget(1, 1e9);
    const w = new InflightWindow(budget);
    await w.add(() => {
      throw new Error('bad attributes');
    }, 1);
    await expect(w.drain()).rejects.toThrow('bad attributes');
    const next = new InflightWindow(budget);
    await next.add(() => Promise.resolve('z'), 1); // would hang if the room had leaked
    await next.drain();
  });
});
