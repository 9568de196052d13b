// The copy path's own memory: one budget per process (`copy_buffer_bytes`), in slabs of `chunkBytes`,
// allocated on first use and then reused for the life of the process (never handed back to the GC, so the
// peak is the budget by construction, not by when a collection happens to run). Who holds slabs:
// - a resumable upload (an object above singleRequestMaxBytes going as one stream): 2, one chunk on the
//   wire (kept for a resend) while the next fills, for as long as the upload runs;
// - a copy in parallel parts: up to PARALLEL_SLABS, for the bytes of parts that arrived ahead of the
//   in-order MD5 (inOrderMd5.ts); a part ahead waits when they are full, the part at the frontier never does.
// Everything else streams: undici's bodies and request streams hold their highWaterMark (64 KiB) each.
// A copy takes all its slabs at once, before its first GET, and holds nothing while it waits: no copy can
// wait on another that waits (no deadlock), and no CDN response idles while its copy waits for memory.
// Waiters are served in order (a copy that needs 2 is not passed forever by copies that need 1).

/**
 * Slabs a copy in parallel parts asks for. While the frontier part (one capped connection) streams, the
 * parts ahead can take in only this many slabs' worth: with 8 MiB parts, 4 slabs bounded the copy at 5x
 * the frontier connection's rate however many parts were in flight. 6 let 7 of the default 8 parts
 * stream unblocked and leave 2 of the default 8 slabs for a resumable upload meanwhile. Measured (5 GiB,
 * 50 MiB/s per connection, bench/transfer parallel): 4 -> 6 slabs took ours from 0.90x to 0.99x of the
 * bare parallel loop in the same run, 3.82x -> 3.92x of one stream, peak RSS 225 -> 242 MiB.
 */
export const PARALLEL_SLABS = 6;

interface Waiter {
  n: number;
  resolve: (slabs: Buffer[]) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export class SlabPool {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly slabBytes: number,
    /** Slabs in all: the budget divided by slabBytes, at least 1. */
    readonly slabs: number,
  ) {
    if (!Number.isInteger(slabs) || slabs < 1) throw new Error(`Expected \`slabs\` to be an integer from 1 and up, got \`${slabs}\``);
  }

  /** Slabs free now (allocated or not). */
  get available(): number {
    return this.free.length + this.slabs - this.allocated;
  }

  /** Waits until `n` slabs (at most the pool's size) are free and takes them all at once. */
  take(n: number, signal: AbortSignal): Promise<Buffer[]> {
    const want = Math.max(1, Math.min(n, this.slabs));
    if (this.waiters.length === 0 && this.available >= want) return Promise.resolve(this.grab(want));
    return new Promise<Buffer[]>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason ?? new Error('aborted'));
      const w: Waiter = {
        n: want,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          reject(signal.reason ?? new Error('aborted'));
          this.serve(); // the head may have been the one blocking the others
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  /** Gives slabs back (their bytes are garbage from now on). */
  give(slabs: readonly Buffer[]): void {
    for (const s of slabs) this.free.push(s);
    this.serve();
  }

  private grab(n: number): Buffer[] {
    const out = this.free.splice(0, Math.min(n, this.free.length));
    while (out.length < n) {
      this.allocated++;
      out.push(Buffer.allocUnsafeSlow(this.slabBytes));
    }
    return out;
  }

  private serve(): void {
    while (this.waiters.length && this.available >= this.waiters[0].n) {
      const w = this.waiters.shift()!;
      w.signal.removeEventListener('abort', w.onAbort);
      w.resolve(this.grab(w.n));
    }
  }
}
