// One retry layer per operation. One backoff for the whole tool: exponential with full jitter, bounded by
// attempts and by a budget of time spent waiting, cut short by the shutdown signal. Whether to retry at all
// is classify()'s decision.
//
// An operation whose steps may each fail (one object copy: the whole attempt, a resumable chunk, a
// download resume) shares one RetryBudget: every retry of any step draws from it, so no step is retried
// max_attempts² times, and a step that gave up is not retried again by the step around it. The budget
// counts the backoff sleeps, not the work: a 5 GiB object that streams for ten minutes still gets its
// attempts. The SDKs' own retries are off where ours wrap their calls (common/clients.ts).
import { classify, reasonClass, toError } from './errors.js';
import { m as metrics } from './metrics.js';

/** How much one operation may retry. */
export interface RetryLimits {
  /** Tries in all, across the operation's steps: the first plus every retry. */
  maxAttempts: number;
  /** Most time the operation may spend waiting between tries (the sum of its backoff sleeps). */
  budgetMs: number;
}

export interface RetryInfo {
  /** Tries so far (across the operation's steps), the failed one included. */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface RetryOptions extends RetryLimits {
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  /**
   * Waited on after the backoff, before the step tries again (the copy's: the fleet pacer after a throttled
   * write). Outside budgetMs: a fleet-wide pause must not spend one operation's retries.
   */
  gate?: (failure: Error) => Promise<void> | undefined;
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

/** The retries of one operation, shared by all of its steps. */
export class RetryBudget {
  private retries = 0;
  private waited = 0;

  constructor(private readonly opts: RetryOptions) {}

  /** Tries so far across every step: the first plus each retry taken. */
  get attempts(): number {
    return this.retries + 1;
  }

  /** Time spent in backoff sleeps so far. */
  get waitedMs(): number {
    return this.waited;
  }

  /**
   * Called by a step after it failed. Throws RetriesExhaustedError (the failure as its cause) unless the
   * failure is retryable and an attempt and the backoff's wait are left in the budget; otherwise sleeps the
   * backoff (and the gate, if any), after which the step tries again. A RetriesExhaustedError (a step that already gave up) is
   * thrown on as is. `onRetry` lets each step say what it retries; the options' one by default.
   */
  async retryAfter(thrown: unknown, onRetry = this.opts.onRetry): Promise<void> {
    if (thrown instanceof RetriesExhaustedError) throw thrown;
    const err = toError(thrown);
    const { retryable, reason } = classify(err);
    const attempt = this.retries + 1;
    const delayMs = backoffMs(attempt, this.opts.baseDelayMs, this.opts.maxDelayMs);
    if (!retryable || attempt >= this.opts.maxAttempts || this.waited + delayMs > this.opts.budgetMs || this.opts.signal?.aborted) {
      throw new RetriesExhaustedError(attempt, retryable ? reason : `${reason} (not retryable)`, err);
    }
    this.retries++;
    this.waited += delayMs;
    metrics.retries.inc({ reason: reasonClass(reason) });
    onRetry?.({ attempt, delayMs, reason });
    await sleep(delayMs, this.opts.signal);
    await this.opts.gate?.(err);
  }
}

/** One step of a larger operation: its retries draw from the operation's budget. */
export interface RetryStep {
  budget: RetryBudget;
  onRetry?: RetryOptions['onRetry'];
}

/**
 * Runs fn until it succeeds or its failure may not be retried (see RetryBudget.retryAfter). Given
 * RetryOptions, the call is a whole operation with a budget of its own (one call site, one layer); given
 * a RetryStep, it is one step of an operation. fn gets this call's own try number, 1 on the first.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions | RetryStep): Promise<T> {
  const budget = 'budget' in opts ? opts.budget : new RetryBudget(opts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      await budget.retryAfter(err, opts.onRetry);
    }
  }
}
