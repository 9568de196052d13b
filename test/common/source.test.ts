// Pure units of the shared source side: the one retry layer with its shared budget that counts waiting,
// not work.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RetriesExhaustedError, RetryBudget, withRetry } from '../../src/common/retry.js';

const retryable = (): Error => Object.assign(new Error('flaky'), { statusCode: 503 });

describe('retry budget', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('counts the time spent waiting, not the time the work takes: ten-minute attempts still get their retries', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let n = 0;
    const v = await withRetry(
      async () => {
        vi.setSystemTime(Date.now() + 10 * 60_000); // each attempt streams for ten minutes before it breaks
        if (++n < 4) throw retryable();
        return 'copied';
      },
      { maxAttempts: 5, budgetMs: 1000, baseDelayMs: 1 },
    );
    expect([v, n]).toEqual(['copied', 4]);
  });

  it('gives up once the next backoff would take the waiting past the budget', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const delays: number[] = [];
    let n = 0;
    const err = await withRetry(
      async () => {
        n++;
        throw retryable();
      },
      { maxAttempts: 10, budgetMs: 25, baseDelayMs: 20, onRetry: (i) => delays.push(i.delayMs) },
    ).catch((e: unknown) => e);
    // waits 19 ms (floor(0.99 * 20)); the next would be 39 ms, past 25 in all
    expect(delays).toEqual([19]);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect([n, (err as RetriesExhaustedError).attempts]).toEqual([2, 2]);
  });

  it('one budget for every step of an operation: steps draw from it, and a step that gave up is not retried around', async () => {
    const budget = new RetryBudget({ maxAttempts: 4, budgetMs: 10_000, baseDelayMs: 1 });
    let inner = 0;
    let outer = 0;
    const first = await withRetry(
      async (attempt) => {
        if (attempt < 3) throw retryable();
        return attempt;
      },
      { budget },
    );
    expect([first, budget.attempts]).toEqual([3, 3]); // two retries drawn
    const err = await withRetry(
      async () => {
        outer++;
        // a step inside the step (a chunk inside an object attempt): one retry left for both
        return withRetry(async () => {
          inner++;
          throw retryable();
        }, { budget });
      },
      { budget },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect([outer, inner, (err as RetriesExhaustedError).attempts]).toEqual([1, 2, 4]);
    expect(budget.waitedMs).toBeLessThanOrEqual(10_000);
  });
});
