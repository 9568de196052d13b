// Progress lines: the rate of one counter, the percent and ETA of the counter whose total is known.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { startProgress } from '../../src/common/progress.js';

afterEach(() => {
  vi.useRealTimers();
});

function capture(): { log: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger({ labels: {}, write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

describe('progress', () => {
  it('rates objects but counts percent and ETA in subfolders when their total is the one known', () => {
    vi.useFakeTimers({ now: 0 });
    const { log, lines } = capture();
    const p = startProgress(log, 'publish', { rateKey: 'objects', totalKey: 'subfolders', intervalMs: 10_000 });
    p.setTotal(100);
    p.add({ objects: 5000, subfolders: 25 });
    vi.advanceTimersByTime(10_000);
    expect(lines.at(-1)).toMatchObject({ message: 'publish: progress', objects: 5000, subfolders: 25, total: 100, percent: 25, rate_per_s: 500, eta_s: 30 });
    p.add({ objects: 5000, subfolders: 75 });
    p.stop();
    expect(lines.at(-1)).toMatchObject({ message: 'publish: done', percent: 100, rate_per_s: 1000 });
    expect(lines.at(-1)).not.toHaveProperty('eta_s');
  });

  it('without a totalKey, the ETA is about the rated counter', () => {
    vi.useFakeTimers({ now: 0 });
    const { log, lines } = capture();
    const p = startProgress(log, 'check', { rateKey: 'subfolders', intervalMs: 1000 });
    p.setTotal(10);
    p.add({ subfolders: 2 });
    vi.advanceTimersByTime(1000);
    expect(lines.at(-1)).toMatchObject({ percent: 20, rate_per_s: 2, eta_s: 4 });
    p.stop();
  });
});
