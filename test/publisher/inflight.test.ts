// The publish window: how a subfolder of millions of keys stays within bounded memory.
import { describe, expect, it } from 'vitest';
import { InflightWindow } from '../../src/publisher/inflight.js';

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

describe('InflightWindow', () => {
  it('holds the producer while maxCount publishes are outstanding, and lets it go as they settle', async () => {
    const w = new InflightWindow(2, 1e9);
    const [a, b, c] = [deferred(), deferred(), deferred()];
    await w.add(a.promise, 1);
    let added = false;
    const adding = w.add(b.promise, 1).then(() => (added = true));
    await tick();
    expect(added).toBe(false); // two outstanding: full
    a.resolve();
    await adding;
    expect(added).toBe(true);
    const third = w.add(c.promise, 1);
    b.resolve();
    await third;
    c.resolve();
    await w.drain();
  });

  it('holds the producer on bytes as well', async () => {
    const w = new InflightWindow(100, 10);
    const a = deferred();
    let added = false;
    const adding = w.add(a.promise, 12).then(() => (added = true)); // one message may exceed the window alone
    await tick();
    expect(added).toBe(false);
    a.resolve();
    await adding;
    await w.drain();
  });

  it('surfaces the first failure, but drain still waits for every outstanding publish', async () => {
    const w = new InflightWindow(10, 1e9);
    const [a, b] = [deferred(), deferred()];
    await w.add(a.promise, 1);
    await w.add(b.promise, 1);
    a.reject(new Error('UNAVAILABLE'));
    await tick();
    await expect(w.add(Promise.resolve('x'), 1)).rejects.toThrow('UNAVAILABLE');
    let drained = false;
    const draining = w.drain().catch((e: Error) => ((drained = true), e.message));
    await tick();
    expect(drained).toBe(false); // b is still outstanding
    b.resolve();
    expect(await draining).toBe('UNAVAILABLE');
  });
});
