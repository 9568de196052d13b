// The MD5 of a whole object whose parts arrive in parallel. MD5 cannot be combined from parts, so the bytes
// must pass through one hash in order: the part at the frontier is hashed as it streams, a part ahead of it
// keeps its buffers until the frontier reaches it. A part holds its slot (see parallel.ts) until it is
// hashed, so at most `parts in flight` parts are ever held: memory stays bounded. A part sent again (a retry)
// starts over: the frontier's hash is restored from the copy taken when that part became the frontier.
import { createHash, type Hash } from 'node:crypto';

export class InOrderMd5 {
  private md5: Hash = createHash('md5');
  /** The hash as it was when the frontier part began: a retry of that part restarts from here. */
  private atFrontier: Hash = this.md5.copy();
  private frontier = 0;
  private readonly held = new Map<number, Buffer[]>();
  private readonly ended = new Set<number>();
  private readonly waiters = new Map<number, () => void>();

  constructor(private readonly parts: number) {}

  /** Part `i` (0-based) starts (again): whatever it fed before is forgotten. */
  begin(i: number): void {
    this.ended.delete(i);
    if (i === this.frontier) this.md5 = this.atFrontier.copy();
    else if (i > this.frontier) this.held.set(i, []);
  }

  update(i: number, buf: Buffer): void {
    if (i === this.frontier) this.md5.update(buf);
    else this.held.get(i)?.push(buf);
  }

  /** Part `i` is complete (stored and verified): the frontier moves past every complete part. */
  end(i: number): void {
    this.ended.add(i);
    while (this.ended.has(this.frontier)) {
      this.waiters.get(this.frontier)?.();
      this.waiters.delete(this.frontier);
      this.frontier++;
      this.atFrontier = this.md5.copy();
      for (const b of this.held.get(this.frontier) ?? []) this.md5.update(b);
      this.held.delete(this.frontier);
    }
  }

  /** Resolves once part `i` went into the hash (its buffers released); rejects when `signal` aborts first. */
  hashed(i: number, signal: AbortSignal): Promise<void> {
    if (i < this.frontier) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(i, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Hex MD5 of the whole object, once every part ended; undefined before. */
  digestHex(): string | undefined {
    return this.frontier === this.parts ? this.md5.digest('hex') : undefined;
  }
}
