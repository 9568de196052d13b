// A bounded window of outstanding publishes: a subfolder of millions of keys is streamed through it, so
// memory holds at most maxCount messages / maxBytes of data, however long the listing.
export class InflightWindow {
  private count = 0;
  private bytes = 0;
  private failure: { err: unknown } | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  /** Tracks one publish; waits while the window is full. Throws the first failure of any publish. */
  async add(publish: Promise<unknown>, bytes: number): Promise<void> {
    this.count++;
    this.bytes += bytes;
    publish.then(
      () => this.settled(bytes),
      (err: unknown) => {
        this.failure ??= { err };
        this.settled(bytes);
      },
    );
    while (!this.failure && (this.count >= this.maxCount || this.bytes >= this.maxBytes)) await this.wait();
    if (this.failure) throw this.failure.err;
  }

  /** Waits until every publish has settled (success or not), then throws the first failure if any. */
  async drain(): Promise<void> {
    while (this.count > 0) await this.wait();
    if (this.failure) throw this.failure.err;
  }

  private settled(bytes: number): void {
    this.count--;
    this.bytes -= bytes;
    const w = this.waiters;
    this.waiters = [];
    for (const wake of w) wake();
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
