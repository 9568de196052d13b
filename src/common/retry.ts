// One backoff for the whole tool: exponential with full jitter, bounded by attempts and a time budget,
// cut short by the shutdown signal. Whether to retry at all is classify()'s decision.
import { classify, toError } from './errors.js';

export interface RetryOptions {
  maxAttempts: number;
  budgetMs: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

export class RetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    readonly reason: string,
    cause: unknown,
  ) {
    super(`${reason} (gave up after ${attempts} attempt${attempts === 1 ? '' : 's'})`, { cause });
    this.name = 'RetriesExhaustedError';
  }
}

export function backoffMs(attempt: number, baseDelayMs = 200, maxDelayMs = 20_000, random = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs fn until it succeeds, a failure is not retryable, or attempts/budget run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (thrown) {
      const err = toError(thrown);
      const { retryable, reason } = classify(err);
      const delayMs = backoffMs(attempt, opts.baseDelayMs, opts.maxDelayMs);
      const outOfBudget = Date.now() - started + delayMs > opts.budgetMs;
      if (!retryable || attempt >= opts.maxAttempts || outOfBudget || opts.signal?.aborted) {
        throw new RetriesExhaustedError(attempt, retryable ? reason : `${reason} (not retryable)`, err);
      }
      opts.onRetry?.({ attempt, delayMs, reason });
      await sleep(delayMs, opts.signal);
    }
  }
}
