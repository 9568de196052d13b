// Group commit for the publishers' flags: a subfolder finished while a flag statement is running waits
// for the next one, which takes every subfolder finished meanwhile (up to maxBatch). Idle, each flag is
// one statement at once; busy, hundreds of flags share one, so the database's cost stops growing with
// the publish rate. No timer: a batch never waits for company.

interface Pending<T> {
  item: T;
  resolve(mine: boolean): void;
  reject(err: unknown): void;
}

export class GroupCommit<T extends { id: number }> {
  private pending: Pending<T>[] = [];
  private running = false;

  /**
   * @param commit flags a group of rows in one statement; resolves with the ids it flagged for us (an id
   * left out lost its lease to another publisher).
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<Set<number>>,
    private readonly maxBatch: number,
  ) {}

  /** Resolves true if the row was flagged for us, false if its lease had been taken over. */
  submit(item: T): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length) {
        const group = this.pending.splice(0, this.maxBatch);
        try {
          const mine = await this.commit(group.map((p) => p.item));
          for (const p of group) p.resolve(mine.has(p.item.id));
        } catch (err) {
          // Each caller decides on its retry; a retried flag joins the next group.
          for (const p of group) p.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
