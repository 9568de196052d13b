// A per-connection bandwidth cap, as a WAN gives: each TCP connection's response bodies leave at most at
// `bytesPerSecondPerConnection`, whatever the others do, so N parallel connections get N times the bytes of
// one (what parallel ranged GETs of one large object are for). Bytes go out in slices of 1/20 s worth on a
// schedule anchored to the connection's first paced byte: a late timer sends its slices at once, but by
// any time t a connection has been sent at most rate * (t - start) + one slice.
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const SLICES_PER_SECOND = 20;

/** A cap must be a whole number of bytes per second from 1; the error names the bad value. */
export function checkBytesPerSecond(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    throw new Error(`bytesPerSecondPerConnection must be a whole number of bytes from 1, got ${JSON.stringify(n)}`);
  }
  return n;
}

export class ConnectionThrottle {
  private rate: number | undefined;
  /** When each connection may send its next slice (performance.now() ms). */
  private readonly nextAt = new WeakMap<Socket, number>();

  constructor(bytesPerSecondPerConnection?: number) {
    if (bytesPerSecondPerConnection !== undefined) this.set({ bytesPerSecondPerConnection });
  }

  /** `{ bytesPerSecondPerConnection: N }`; takes effect on bodies in flight too. */
  set(input: unknown): void {
    this.rate = checkBytesPerSecond((input as { bytesPerSecondPerConnection?: unknown } | undefined)?.bytesPerSecondPerConnection);
  }

  clear(): void {
    this.rate = undefined;
  }

  get bytesPerSecondPerConnection(): number | undefined {
    return this.rate;
  }

  /** The body's chunks, paced to the connection's rate while a cap is set; as they come otherwise. */
  async *paced(body: AsyncIterable<Buffer>, socket: Socket | null): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      let off = 0;
      while (off < chunk.length) {
        const rate = this.rate;
        if (rate === undefined || !socket) {
          yield off === 0 ? chunk : chunk.subarray(off);
          break;
        }
        const piece = chunk.subarray(off, off + Math.max(1, Math.floor(rate / SLICES_PER_SECOND)));
        const now = performance.now();
        // A connection idle since its last slice banks no credit beyond the slice it may send now.
        const at = Math.max(now, this.nextAt.get(socket) ?? now);
        this.nextAt.set(socket, at + (piece.length * 1000) / rate);
        if (at > now) await sleep(at - now);
        yield piece;
        off += piece.length;
      }
    }
  }
}
