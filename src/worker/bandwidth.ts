// --bwlimit: the bytes per second one process may read from the CDN, constant or on a daily schedule in
// rclone's form ("08:00,50M 18:00,off": from 08:00 local time 50 MiB/s, from 18:00 no limit). Applied
// where the bytes arrive, as an undici interceptor on the CDN downloads: a response that got ahead of
// the budget is paused (TCP backpressure slows the sender) and resumed when the budget allows, so the copy
// path, its hashing and its resumes are unchanged. Uploads follow the downloads they stream.
import type { Dispatcher } from 'undici';

export interface BwSlot {
  /** Minutes after local midnight. */
  fromMinute: number;
  /** Bytes per second; null: no limit. */
  bytesPerSecond: number | null;
}

const UNITS: Record<string, number> = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "50M", "1.5G", "512K", "800" (KiB, as rclone reads a bare number), or "off". */
export function parseRate(text: string): number | null {
  const t = text.trim();
  if (/^off$/i.test(t)) return null;
  const m = /^(\d+(?:\.\d+)?)([BKMGT])?$/i.exec(t);
  if (!m || Number(m[1]) <= 0) throw new Error(`bwlimit: expected a rate such as 50M, 512K or off, got ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * UNITS[(m[2] ?? 'K').toUpperCase()]);
}

/** A constant rate, or a schedule of "HH:MM,RATE" slots separated by spaces. */
export function parseBwlimit(text: string): BwSlot[] {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 1 && !parts[0].includes(',')) return [{ fromMinute: 0, bytesPerSecond: parseRate(parts[0]) }];
  const slots = parts.map((p) => {
    const m = /^(\d{1,2}):(\d{2}),(.+)$/.exec(p);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new Error(`bwlimit: expected HH:MM,RATE (e.g. 08:00,50M), got ${JSON.stringify(p)}`);
    return { fromMinute: Number(m[1]) * 60 + Number(m[2]), bytesPerSecond: parseRate(m[3]) };
  });
  return slots.sort((a, b) => a.fromMinute - b.fromMinute);
}

/** The slot in force at `at` (local time): the last one started today, else yesterday's last. */
export function rateAt(slots: BwSlot[], at: Date): number | null {
  const minute = at.getHours() * 60 + at.getMinutes();
  let current = slots[slots.length - 1];
  for (const s of slots) if (s.fromMinute <= minute) current = s;
  return current.bytesPerSecond;
}

export interface BandwidthLimiter {
  /** How long to wait before reading more, having just read `bytes` (0: go on). */
  consume(bytes: number): number;
}

export function bandwidthLimiter(slots: BwSlot[], now: () => number = Date.now): BandwidthLimiter {
  let debt = 0; // bytes read beyond the budget so far
  let at = now();
  return {
    consume(bytes) {
      const t = now();
      const rate = rateAt(slots, new Date(t));
      if (rate === null) {
        debt = 0;
        at = t;
        return 0;
      }
      // Idle time pays debt off, but banks at most 100 ms of budget: a burst after a pause stays small.
      debt = Math.max(-rate / 10, debt - ((t - at) / 1000) * rate) + bytes;
      at = t;
      return debt > 0 ? (debt / rate) * 1000 : 0;
    },
  };
}

/**
 * A body pauses only once it is this far ahead: pausing for every chunk's millisecond (64 KiB chunks at
 * 64 MiB/s) costs a timer and a socket pause/resume per chunk, several times the copy's own CPU.
 */
const MIN_PAUSE_MS = 25;

/**
 * The interceptor: every response body's bytes draw from `limiter`; a body ahead of it pauses, and the chunks
 * that got ahead are held back until the budget has paid for them. Pausing alone is not enough: the socket
 * may already hold megabytes (a loopback or a fat WAN buffer), delivered in a few large chunks after the
 * pause, so the copy would see the end of a 12 MiB object at 3M after 3 s instead of 4. Held chunks are
 * delivered in order; the response's end waits for them; an error drops them (the copy fails or resumes).
 */
export function bandwidthInterceptor(limiter: BandwidthLimiter): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const h = handler as Dispatcher.DispatchHandler;
    type Controller = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseData']>>[0];
    const held: { chunk: Buffer; dueMs: number }[] = [];
    let end: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failed = false;
    const flush = (c: Controller): void => {
      timer = undefined;
      if (failed) return;
      const now = Date.now();
      while (held.length && held[0].dueMs <= now) h.onResponseData?.(c, held.shift()!.chunk);
      if (held.length) timer = setTimeout(() => flush(c), held[0].dueMs - now);
      else {
        if (!c.aborted) c.resume();
        const e = end;
        end = undefined;
        e?.();
      }
    };
    const wrapped: Dispatcher.DispatchHandler = {
      onRequestStart: (c, ctx) => h.onRequestStart?.(c, ctx),
      onRequestUpgrade: (c, s, hd, sock) => h.onRequestUpgrade?.(c, s, hd, sock),
      onResponseStart: (c, s, hd, m) => h.onResponseStart?.(c, s, hd, m),
      onResponseData: (c, chunk) => {
        const waitMs = limiter.consume(chunk.length);
        if (held.length === 0 && waitMs < MIN_PAUSE_MS) return void h.onResponseData?.(c, chunk);
        held.push({ chunk, dueMs: Date.now() + waitMs });
        if (!c.aborted) c.pause();
        if (!timer) timer = setTimeout(() => flush(c), Math.max(0, held[0].dueMs - Date.now()));
      },
      onResponseEnd: (c, trailers) => {
        if (held.length) end = () => h.onResponseEnd?.(c, trailers);
        else h.onResponseEnd?.(c, trailers);
      },
      onResponseError: (c, err) => {
        failed = true;
        if (timer) clearTimeout(timer);
        held.length = 0;
        h.onResponseError?.(c, err);
      },
    };
    return dispatch(opts, wrapped);
  };
}
