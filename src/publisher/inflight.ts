// Bounded publishing: one budget of outstanding messages and bytes per publisher process, shared by every
// subfolder being published, so memory holds at most that much however many subfolders are in hand and
// however long their listings; and per subfolder a window that knows when all of its own publishes have
// settled, and whether one failed.

/**
 * Messages and bytes handed to Pub/Sub but not yet acknowledged, across all subfolders. Not a concurrency
 * limit (common/limit.ts): each message weighs its bytes, and the publisher hands them over one by one.
 */
export class PublishBudget {
  private count = 0;
  private bytes = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  /** Waits for room for one message of `bytes` (a message larger than the whole budget goes alone). */
  async take(bytes: number): Promise<void> {
    while (this.count >= this.maxCount || (this.count > 0 && this.bytes + bytes > this.maxBytes)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.count++;
    this.bytes += bytes;
  }

  give(bytes: number): void {
    this.count--;
    this.bytes -= bytes;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }
}

/** One subfolder's outstanding publishes: a count to drain and the first failure, bounded by the budget. */
export class InflightWindow {
  private count = 0;
  private failure: { err: unknown } | undefined;
  private waiters: Array<() => void> = [];

  constructor(private readonly budget: PublishBudget) {}

  /** Starts one publish once the budget has room. Throws the first failure of any earlier publish. */
  async add(publish: () => Promise<unknown>, bytes: number): Promise<void> {
    if (this.failure) throw this.failure.err;
    await this.budget.take(bytes);
    this.count++;
    const settled = (): void => {
      this.count--;
      this.budget.give(bytes);
      const w = this.waiters;
      this.waiters = [];
      for (const wake of w) wake();
    };
    let p: Promise<unknown>;
    try {
      p = publish();
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(settled, (err: unknown) => {
      this.failure ??= { err };
      settled();
    });
  }

  /** Waits until every publish has settled (success or not), then throws the first failure if any. */
  async drain(): Promise<void> {
    while (this.count > 0) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure.err;
  }
}
