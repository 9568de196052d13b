// Pure units of the shared source side: the one ETag unquoter (and the inputs both old ones took), the
// one "HTTP status of an error", the object filter, the one limiter, and the one retry layer with its
// shared budget that counts waiting, not work.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEtag, unquoteEtag } from '../../src/common/source/etag.js';
import { objectFilter } from '../../src/common/source/filter.js';
import { httpStatus } from '../../src/common/errors.js';
import { createLimiter } from '../../src/common/limit.js';
import { RetriesExhaustedError, RetryBudget, withRetry } from '../../src/common/retry.js';

const retryable = (): Error => Object.assign(new Error('flaky'), { statusCode: 503 });

describe('unquoteEtag', () => {
  it.each([
    // what the publisher's unquoteEtag took: S3's quoted ETags, and unquoted ones as given
    ['"9b2cf535f27731c974343645a3985328"', '9b2cf535f27731c974343645a3985328'],
    ['"0123456789abcdef0123456789abcdef-3"', '0123456789abcdef0123456789abcdef-3'],
    ['9b2cf535f27731c974343645a3985328', '9b2cf535f27731c974343645a3985328'],
    ['"ABC"', 'ABC'],
    // what copy/verify.ts's stripQuotes took: weak validators, repeated and unbalanced quotes
    ['W/"9b2cf535f27731c974343645a3985328"', '9b2cf535f27731c974343645a3985328'],
    ['""abc""', 'abc'],
    ['"abc', 'abc'],
    ['abc"', 'abc'],
    ['""', ''],
    ['"', ''],
    ['', ''],
  ])('%j -> %j', (raw, want) => {
    expect(unquoteEtag(raw)).toBe(want);
  });

  it('is what parseEtag reads through', () => {
    expect(parseEtag('W/"D41D8CD98F00B204E9800998ECF8427E"')).toEqual({ kind: 'md5', md5Hex: 'd41d8cd98f00b204e9800998ecf8427e' });
    expect(parseEtag('""kms-etag""')).toEqual({ kind: 'opaque', etag: 'kms-etag' });
  });
});

describe('httpStatus', () => {
  it('reads every client shape, through causes unless told not to', () => {
    expect(httpStatus(Object.assign(new Error('x'), { statusCode: 412 }))).toBe(412);
    expect(httpStatus(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toBe(503);
    expect(httpStatus(Object.assign(new Error('x'), { response: { status: 429 } }))).toBe(429);
    expect(httpStatus(Object.assign(new Error('x'), { code: 404 }))).toBe(404);
    expect(httpStatus(Object.assign(new Error('x'), { code: 14 }))).toBeUndefined(); // a gRPC code is no HTTP status
    const wrapped = new RetriesExhaustedError(1, 'gave up', Object.assign(new Error('inner'), { statusCode: 412 }));
    expect(httpStatus(wrapped)).toBe(412);
    expect(httpStatus(wrapped, 0)).toBeUndefined();
    expect(httpStatus('not an error')).toBeUndefined();
  });
});

describe('objectFilter', () => {
  const o = { key: 'k', size: 1, etag: 'e', last_modified: '2024-06-01T00:00:00.000Z' };
  it('keeps everything without filters, and names the filter that drops an object', () => {
    expect(objectFilter({})(o)).toEqual({ keep: true });
    expect(objectFilter({ last_modified_after: '2024-06-01T00:00:00Z' })(o)).toEqual({ keep: false, why: 'last_modified_after' });
    expect(objectFilter({ last_modified_before: '2024-06-01T00:00:00Z' })(o)).toEqual({ keep: false, why: 'last_modified_before' });
    expect(objectFilter({ storage_class: ['GLACIER'] })(o)).toEqual({ keep: false, why: 'storage_class' });
    expect(objectFilter({ storage_class: ['STANDARD'] })(o)).toEqual({ keep: true }); // S3 omits STANDARD
  });
});

describe('createLimiter', () => {
  it('start() returns once a slot is free, so a producer never gets ahead; idle() waits for all and throws the first failure', async () => {
    const lim = createLimiter(2);
    const releases: Array<() => void> = [];
    let started = 0;
    const task = (): Promise<void> => new Promise<void>((resolve) => releases.push(resolve)).then(() => undefined);
    const producer = (async () => {
      for (let i = 0; i < 5; i++) {
        await lim.start(() => {
          started++;
          return task();
        });
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    // two running, the producer's third waiting for a slot, the last two not even offered yet
    expect([started, lim.active, lim.queued]).toEqual([2, 2, 1]);
    while (started < 5 || releases.length) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    await producer;
    await lim.idle();
    expect(started).toBe(5);
    await lim.start(() => Promise.reject(new Error('task failed')));
    await expect(lim.idle()).rejects.toThrow('task failed');
  });
});

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
