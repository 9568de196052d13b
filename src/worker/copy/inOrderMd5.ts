// The MD5 of a whole object whose parts arrive in parallel. MD5 cannot be combined from parts, so the bytes
// must pass through one hash in order: the part at the frontier is hashed as it streams, a part ahead of it
// copies its bytes into the copy's slabs (slabs.ts) until the frontier reaches it. The slabs are a fixed
// set taken from the process's budget when the copy starts: when they are full, a part ahead waits (its
// download and its upload pause) until the frontier moves; the frontier part never waits, so the copy
// always progresses, and the memory held is the slabs, whatever the part sizes and parts in flight. A part
// sent again (a retry) starts over: the frontier's hash is restored from the copy taken when that part
// became the frontier, a part ahead drops what it held.
import { createHash, type Hash } from 'node:crypto';
import { TransferError } from '../../common/errors.js';

interface Held {
  slab: Buffer;
  fill: number;
}

export class InOrderMd5 {
  private md5: Hash = createHash('md5');
  /** The hash as it was when the frontier part began: a retry of that part restarts from here. */
  private atFrontier: Hash = this.md5.copy();
  private frontier = 0;
  private readonly held = new Map<number, Held[]>();
  private readonly ended = new Set<number>();
  private readonly waiters = new Map<number, () => void>();
  /** Each part's current attempt: an update from an attempt that was started over is stale. */
  private readonly epoch = new Map<number, number>();
  /** Slabs of this copy not holding anything. */
  private readonly spare: Buffer[];
  private wakeups: Array<() => void> = [];

  constructor(
    private readonly parts: number,
    slabs: readonly Buffer[] = [],
  ) {
    this.spare = [...slabs];
  }

  /** Part `i` (0-based) starts (again): whatever it fed before is forgotten. */
  begin(i: number): void {
    this.epoch.set(i, (this.epoch.get(i) ?? 0) + 1);
    this.ended.delete(i);
    if (i === this.frontier) this.md5 = this.atFrontier.copy();
    else if (i > this.frontier) this.release(i);
    this.wake();
  }

  /**
   * Feeds part `i`'s next bytes. Hashed or held at once (the usual case): undefined, no promise per chunk;
   * a part ahead that must wait for a slab gets a promise that settles once its bytes are held or hashed.
   */
  update(i: number, buf: Buffer, signal: AbortSignal): Promise<void> | undefined {
    const off = this.hold(i, buf, 0);
    return off === buf.length ? undefined : this.feedWaiting(i, buf, off, signal);
  }

  /** Hashes (at the frontier) or copies into slabs as much of buf from `off` as it can now; returns where it stopped. */
  private hold(i: number, buf: Buffer, off: number): number {
    while (off < buf.length) {
      if (i === this.frontier) {
        this.md5.update(off === 0 ? buf : buf.subarray(off));
        return buf.length;
      }
      const list = this.held.get(i) ?? [];
      this.held.set(i, list);
      let last = list[list.length - 1];
      if (!last || last.fill === last.slab.length) {
        const slab = this.spare.pop();
        if (!slab) return off;
        last = { slab, fill: 0 };
        list.push(last);
      }
      const n = buf.copy(last.slab, last.fill, off);
      last.fill += n;
      off += n;
    }
    return off;
  }

  private async feedWaiting(i: number, buf: Buffer, off: number, signal: AbortSignal): Promise<void> {
    const epoch = this.epoch.get(i);
    while (off < buf.length) {
      await this.changed(signal);
      if (this.epoch.get(i) !== epoch) throw new TransferError(`part ${i + 1} was started over while it waited to be hashed`, true);
      off = this.hold(i, buf, off);
    }
  }

  /** Part `i` is complete (stored and verified): the frontier moves past every complete part. */
  end(i: number): void {
    this.ended.add(i);
    while (this.ended.has(this.frontier)) {
      this.waiters.get(this.frontier)?.();
      this.waiters.delete(this.frontier);
      this.frontier++;
      this.atFrontier = this.md5.copy();
      for (const h of this.held.get(this.frontier) ?? []) this.md5.update(h.slab.subarray(0, h.fill));
      this.release(this.frontier);
    }
    this.wake();
  }

  /** Resolves once part `i` went into the hash; rejects when `signal` aborts first. */
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

  private release(i: number): void {
    for (const h of this.held.get(i) ?? []) this.spare.push(h.slab);
    this.held.delete(i);
  }

  private wake(): void {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }

  /** Resolves at the next frontier move, restart or release; rejects when `signal` aborts. */
  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason ?? new Error('aborted'));
      const onAbort = (): void => reject(signal.reason ?? new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      this.wakeups.push(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}
