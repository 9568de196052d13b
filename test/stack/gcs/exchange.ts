// One request/response pair, with the fault (if any) that the table chose for it. Every handler reads
// and answers through here, so each fault action behaves the same on every operation.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FaultAction, FaultTable } from '../faults.js';
import { sleep } from '../proc.js';
import { badRequest, GcsError, statusError } from './errors.js';
import { parseFields, selectFields, type Selection } from './fields.js';

/** What a request body fault destroys after: half the declared length, or this much when unknown. */
export const UNKNOWN_LENGTH_FAULT_BYTES = 64 * 1024;

/** Ops whose request carries object bytes: their mid-body reset cuts the request body, not the response. */
const UPLOAD_OPS = new Set(['upload', 'part']);

export class Exchange {
  /** The raw, still percent-encoded path: names are decoded segment by segment, never normalised. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Scheme and host the client used, for selfLink, mediaLink and upload session URLs. */
  readonly base: string;
  fault?: FaultAction;
  private bytesIn = 0;
  private faultTaken = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly faults: FaultTable,
  ) {
    this.base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    this.path = q < 0 ? raw : raw.slice(0, q);
    this.query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  }

  /**
   * Consults the fault table once the request's object is known; delays happen here. Returns the error
   * of an injected status (the caller decides when to answer it); other actions act on body or response.
   */
  async takeFault(op: string, bucket?: string, key?: string, partNumber?: number): Promise<GcsError | undefined> {
    if (this.faultTaken) return undefined;
    this.faultTaken = true;
    this.isUploadFault = UPLOAD_OPS.has(op);
    const action = this.faults.take({ method: this.req.method ?? 'GET', op, bucket, key, partNumber });
    if (!action) return undefined;
    if ('delayMs' in action) {
      await sleep(action.delayMs);
      return undefined;
    }
    if ('status' in action) return statusError(action.status, action.message);
    this.fault = action;
    return undefined;
  }

  /** Throws an injected status after reading the body, so the client sees the status, not a broken pipe. */
  async faultGate(op: string, bucket?: string, key?: string, partNumber?: number): Promise<void> {
    const err = await this.takeFault(op, bucket, key, partNumber);
    if (!err) return;
    await this.drain();
    throw err;
  }

  async drain(): Promise<void> {
    for await (const chunk of this.body()) void chunk;
  }

  /** The request body; an upload's mid-body reset fault destroys the socket about halfway through. */
  async *body(): AsyncGenerator<Buffer> {
    const declared = Number(this.req.headers['content-length'] ?? NaN);
    const resetAt = Number.isFinite(declared) ? Math.floor(declared / 2) : UNKNOWN_LENGTH_FAULT_BYTES;
    for await (const chunk of this.req as AsyncIterable<Buffer>) {
      if (this.fault && 'reset' in this.fault && this.fault.reset === 'mid-body' && this.isUploadFault) {
        const keep = resetAt - this.bytesIn;
        if (keep < chunk.length) {
          if (keep > 0) yield chunk.subarray(0, keep);
          this.bytesIn += Math.max(keep, 0);
          this.req.socket.resetAndDestroy();
          throw new Error('injected fault: connection reset mid-body');
        }
      }
      this.bytesIn += chunk.length;
      yield chunk;
    }
  }

  /** On uploads a mid-body reset cuts the request body, not the response. */
  private isUploadFault = false;

  /** A small request body as text (metadata, XML documents); past `limitBytes` it is refused, not buffered. */
  async text(limitBytes = 16 * 1024 * 1024): Promise<string> {
    const parts: Buffer[] = [];
    let n = 0;
    for await (const chunk of this.body()) {
      n += chunk.length;
      if (n > limitBytes) throw badRequest(`request body over ${limitBytes} bytes: too large for a metadata request`);
      parts.push(chunk);
    }
    return Buffer.concat(parts).toString('utf8');
  }

  async json(): Promise<Record<string, unknown>> {
    const text = (await this.text()).trim();
    if (!text) return {};
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* answered below */
    }
    throw badRequest(`Invalid JSON payload received: ${text.slice(0, 200)}`);
  }

  /** The request's `fields` selection (fields.ts), or undefined; a malformed one throws a 400. */
  fields(): Selection | undefined {
    if (this.selection === undefined) {
      const text = this.query.get('fields');
      this.selection = text ? parseFields(text) : null;
    }
    return this.selection ?? undefined;
  }

  private selection?: Selection | null;

  /** A JSON answer; a success keeps only the request's `fields`, when it names some. */
  sendJson(status: number, value: unknown, headers: Record<string, string> = {}): Promise<void> {
    const sel = status < 300 ? this.fields() : undefined;
    const body = Buffer.from(JSON.stringify(sel ? selectFields(value, sel) : value));
    return this.send(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }, body);
  }

  sendError(err: GcsError): void {
    if (this.res.headersSent) {
      this.res.destroy();
      return;
    }
    if (err.code === 304) {
      this.res.writeHead(304, { 'content-length': 0 });
      this.res.end();
      return;
    }
    const body = Buffer.from(err.body());
    this.res.writeHead(err.code, { 'content-type': err.contentType, 'content-length': body.length });
    this.res.end(body);
  }

  /** Answers with body (bytes or a stream of `length` bytes), applying any response fault. */
  async send(status: number, headers: Record<string, string | number>, body?: Buffer | Readable, length?: number): Promise<void> {
    const size = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : (length ?? 0);
    const f = this.fault;
    // An upload's mid-body reset that found no body left to cut (a small body, read before the rule was
    // known) still resets: every rule has a visible effect.
    if (f && 'reset' in f && (f.reset === 'before-response' || this.isUploadFault)) {
      if (body instanceof Readable) body.destroy();
      this.res.socket?.resetAndDestroy();
      return;
    }
    this.res.writeHead(status, { ...headers, 'content-length': size });
    if (body === undefined || this.req.method === 'HEAD') {
      if (body instanceof Readable) body.destroy();
      this.res.end();
      return;
    }
    // Bytes in hand and no fault on the way: one write. A stream pipeline per answer (its AbortController,
    // and the AbortError it makes at the end, stack trace included) cost ~10% of the emulator's CPU per
    // small upload, work no real service does; benchmarks share the emulator's cores with the tool.
    if (!f && Buffer.isBuffer(body)) {
      this.res.end(body);
      return;
    }
    const src = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const half = Math.floor(size / 2);
    if (f && (('reset' in f && !this.isUploadFault) || 'truncate' in f)) {
      const cut = 'truncate' in f ? () => this.res.socket?.end() : () => this.res.socket?.resetAndDestroy();
      await pipeline(src, cutAfter(half, cut), this.res).catch(() => undefined);
      return;
    }
    const stages = f && 'corrupt' in f ? [flipByteAt(half)] : [];
    await pipeline([src, ...stages, this.res]).catch(() => this.res.destroy());
  }
}

/** Passes `limit` bytes, then calls cut() (the connection ends with the body incomplete). */
function cutAfter(limit: number, cut: () => void): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const room = limit - seen;
      seen += chunk.length;
      if (room >= chunk.length) return done(null, chunk);
      if (room > 0) this.push(chunk.subarray(0, room));
      // Let the pushed bytes reach the socket before cutting it.
      setImmediate(cut);
      done(new Error('injected fault: body cut'));
    },
  });
}

function flipByteAt(pos: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (pos >= seen && pos < seen + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[pos - seen] ^= 0xff;
        chunk = copy;
      }
      seen += chunk.length;
      done(null, chunk);
    },
  });
}
