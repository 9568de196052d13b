// The destination side: the GCS JSON API over the shared undici pool. Small objects go in one multipart
// request, large ones through a resumable session in chunks (one chunk buffered for resends, a second
// filling while the first is sent; the buffers are the process's slabs, see slabs.ts). Every write
// carries ifGenerationMatch, so a retry never clobbers a newer object, and the final request carries the
// hashes, so GCS itself refuses bytes that differ.
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { withRetry, type RetryBudget } from '../../common/retry.js';
import { TransferError } from '../../common/errors.js';
import { HttpStatusError, errorText, expectStatus, header, requestSignal } from './http.js';

export interface GcsObject {
  name: string;
  size: number;
  generation: string;
  md5Hash?: string;
  crc32c?: string;
  metadata?: Record<string, string>;
}

/** The object resource we write: GCS JSON API field names. */
export interface UploadMetadata {
  name: string;
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  contentEncoding?: string;
  md5Hash?: string;
  /** GCS checks it like md5Hash (S3's full-object CRC32C is the same value). */
  crc32c?: string;
  storageClass?: string;
  metadata: Record<string, string>;
}

export interface UploadRequest {
  bucket: string;
  meta: UploadMetadata;
  /** 0: the object must not exist; otherwise the generation we replace. */
  ifGenerationMatch: string;
  sizeBytes: number;
  /**
   * The object's bytes: a stream that throws at its end if they fail local verification (nothing is
   * finalized), or a whole multipart body already read and verified (uploadSingle only).
   */
  body: AsyncIterable<Buffer> | WholeBody;
  /** X-Goog-Hash for the final request, known once the body is consumed. */
  finalHash?: () => string | undefined;
  signal: AbortSignal;
  /** The copy's retry budget: a chunk resent draws from it like every other retry of the copy. */
  retry: RetryBudget;
  /**
   * Resumable: the chunk buffers, each of the chunk size (the process's slabs, slabs.ts). Two overlap the
   * send of one chunk with the filling of the next; one sends and fills in turn. None given: two allocated.
   */
  buffers?: readonly Buffer[];
}

/**
 * Short acknowledgements one chunk may get for free (resent as progress); past that each one draws from the
 * retry budget, so a session that keeps only a sliver per request cannot hold the copy forever.
 */
const FREE_SHORT_ACKS_PER_CHUNK = 16;

/**
 * Multipart boundaries: a random part per process and a counter, never found in the data by chance (as a
 * random boundary per request, without asking the system for entropy per object).
 */
const BOUNDARY_PREFIX = `ott-${randomBytes(12).toString('hex')}-`;
let boundaries = 0;
const nextBoundary = (): string => BOUNDARY_PREFIX + (boundaries++).toString(36);

function multipartText(meta: UploadMetadata): { boundary: string; head: string; tail: string } {
  const boundary = nextBoundary();
  const head =
    `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n` +
    `--${boundary}\r\nContent-Type: ${meta.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  return { boundary, head, tail: `\r\n--${boundary}--\r\n` };
}

function multipartFrame(meta: UploadMetadata): { boundary: string; head: Buffer; tail: Buffer } {
  const t = multipartText(meta);
  return { boundary: t.boundary, head: Buffer.from(t.head), tail: Buffer.from(t.tail) };
}

/**
 * A small object's whole `uploadType=multipart` body in one buffer: the metadata part, room for the media
 * (`media`, filled by the caller before the upload), the closing boundary. Sent in one write.
 */
export class WholeBody {
  readonly boundary: string;
  readonly buffer: Buffer;
  /** The object's bytes, a view into `buffer`. */
  readonly media: Buffer;

  constructor(meta: UploadMetadata, sizeBytes: number) {
    // The frame's text written straight into the one buffer (UTF-8: metadata may hold any character).
    const f = multipartText(meta);
    this.boundary = f.boundary;
    const headBytes = Buffer.byteLength(f.head);
    this.buffer = Buffer.allocUnsafe(headBytes + sizeBytes + Buffer.byteLength(f.tail));
    this.buffer.write(f.head, 0);
    this.buffer.write(f.tail, headBytes + sizeBytes);
    this.media = this.buffer.subarray(headBytes, headBytes + sizeBytes);
  }
}

/** Resumable chunks must be multiples of 256 KiB (except the last). */
export const CHUNK_ALIGN = 256 * 1024;

/**
 * What the copy path reads of an object resource (GcsObject), asked for by `fields=`: GCS answers with the
 * whole resource otherwise (selfLink, mediaLink, etag, timestamps...), bytes it sends and we parse per object.
 * An upload's answer needs no metadata: we just sent it; its generation, size and hashes are the proof.
 */
const OBJECT_FIELDS = 'name,size,generation,md5Hash,crc32c,metadata';
const UPLOADED_FIELDS = 'name,size,generation,md5Hash,crc32c';

function toObject(j: Record<string, unknown>): GcsObject {
  return {
    name: String(j.name),
    size: Number(j.size),
    generation: String(j.generation),
    md5Hash: j.md5Hash as string | undefined,
    crc32c: j.crc32c as string | undefined,
    metadata: (j.metadata as Record<string, string> | undefined) ?? {},
  };
}

async function json(res: Dispatcher.ResponseData): Promise<Record<string, unknown>> {
  return (await res.body.json()) as Record<string, unknown>;
}

/** The bytes a 308 says the session holds (its Range `bytes=0-N`; none: 0). */
function ackedBytes(res: Dispatcher.ResponseData): number {
  const m = /bytes=0-(\d+)/.exec(header(res, 'range') ?? '');
  return m ? Number(m[1]) + 1 : 0;
}

/** A request of the GCS clients: undici's options without the dispatcher's defaults (origin: the endpoint's). */
export interface GcsRequest {
  origin?: string;
  path: string;
  method: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Dispatcher.DispatchOptions['body'];
  signal?: AbortSignal;
}

/**
 * What both GCS clients of the copy path share: the endpoint split into origin and base path, and one
 * request() for every call: auth, the copy's signal (requestSignal), and each answer's status to `onStatus`
 * (the pacer hears GCS's 429/503 whichever step met them).
 */
export abstract class GcsHttp {
  protected readonly origin: string;
  protected readonly basePath: string;

  constructor(
    protected readonly http: Dispatcher,
    endpoint: string,
    /** A bearer token (production), or undefined (emulators): a plain value needs no await per request. */
    private readonly token: () => Promise<string | undefined> | string | undefined,
    private readonly onStatus?: (status: number) => void,
  ) {
    const u = new URL(endpoint);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
  }

  protected async request(r: GcsRequest): Promise<Dispatcher.ResponseData> {
    const t = this.token();
    const token = t instanceof Promise ? await t : t;
    const res = await this.http.request({
      origin: r.origin ?? this.origin,
      path: r.path,
      method: r.method,
      headers: token ? { authorization: `Bearer ${token}`, ...r.headers } : r.headers,
      body: r.body,
      signal: r.signal && requestSignal(r.signal),
    });
    this.onStatus?.(res.statusCode);
    return res;
  }
}

export class GcsClient extends GcsHttp {

  private objectPath(bucket: string, name: string): string {
    return `${this.basePath}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`;
  }

  /** The object's resource, or undefined when it does not exist. */
  async get(bucket: string, name: string, signal: AbortSignal): Promise<GcsObject | undefined> {
    const res = await this.request({ path: `${this.objectPath(bucket, name)}?fields=${OBJECT_FIELDS}`, method: 'GET', signal });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    await expectStatus(res, [200], 'GCS get object');
    return toObject(await json(res));
  }

  /** Deletes exactly this generation (never a newer object written meanwhile); gone already is fine. */
  async delete(bucket: string, name: string, generation: string, signal: AbortSignal): Promise<void> {
    const res = await this.request({ path: `${this.objectPath(bucket, name)}?ifGenerationMatch=${generation}`, method: 'DELETE', signal });
    if (res.statusCode === 404 || res.statusCode === 412) return void (await res.body.dump());
    await expectStatus(res, [200, 204], 'GCS delete object');
    await res.body.dump();
  }

  private uploadPath(bucket: string, type: 'multipart' | 'resumable', ifGenerationMatch: string): string {
    return `${this.basePath}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=${type}&ifGenerationMatch=${ifGenerationMatch}`;
  }

  /** The path of a new small object's upload (ifGenerationMatch=0), the same string for every one of them in a bucket. */
  private newObjectPath?: { bucket: string; path: string };

  private multipartPath(bucket: string, ifGenerationMatch: string): string {
    if (ifGenerationMatch === '0' && this.newObjectPath?.bucket === bucket) return this.newObjectPath.path;
    const path = `${this.uploadPath(bucket, 'multipart', ifGenerationMatch)}&fields=${UPLOADED_FIELDS}`;
    if (ifGenerationMatch === '0') this.newObjectPath = { bucket, path };
    return path;
  }

  /** One request: metadata part + media part, the media streamed from the body or sent whole (WholeBody). */
  async uploadSingle(r: UploadRequest): Promise<GcsObject> {
    const src = r.body;
    let boundary: string;
    let body: Buffer | Readable;
    let length: number;
    if (src instanceof WholeBody) {
      ({ boundary, buffer: body } = src);
      length = body.length;
    } else {
      const f = multipartFrame(r.meta);
      boundary = f.boundary;
      length = f.head.length + r.sizeBytes + f.tail.length;
      body = Readable.from(
        (async function* parts(): AsyncGenerator<Buffer> {
          yield f.head;
          yield* src;
          yield f.tail;
        })(),
        { objectMode: false },
      );
    }
    const res = await this.request({
      path: this.multipartPath(r.bucket, r.ifGenerationMatch),
      method: 'POST',
      headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': String(length) },
      body,
      signal: r.signal,
    });
    if (res.statusCode !== 200) await expectStatus(res, [200], 'GCS upload');
    return toObject(await json(res));
  }

  /** A resumable session: start, then chunks of `chunkBytes`, the last one carrying the hashes. */
  async uploadResumable(r: UploadRequest, chunkBytes: number): Promise<GcsObject> {
    if (chunkBytes % CHUNK_ALIGN !== 0) throw new Error(`chunkBytes must be a multiple of ${CHUNK_ALIGN}, got ${chunkBytes}`);
    const start = await this.request({
      path: this.uploadPath(r.bucket, 'resumable', r.ifGenerationMatch),
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-length': String(r.sizeBytes), ...(r.meta.contentType ? { 'x-upload-content-type': r.meta.contentType } : {}) },
      body: JSON.stringify(r.meta),
      signal: r.signal,
    });
    await expectStatus(start, [200, 201], 'GCS resumable start');
    await start.body.dump();
    const location = header(start, 'location');
    if (!location) throw new TransferError('GCS resumable start: no Location header', true);
    const session = new URL(location);
    try {
      return await this.sendChunks(session, r, chunkBytes);
    } catch (err) {
      // Best effort: an abandoned session expires by itself after a week anyway.
      await this.request({ origin: session.origin, path: session.pathname + session.search, method: 'DELETE', headers: { 'content-length': '0' } }).then((res) => res.body.dump(), () => undefined);
      throw err;
    }
  }

  private async sendChunks(session: URL, r: UploadRequest, chunkBytes: number): Promise<GcsObject> {
    const total = r.sizeBytes;
    const size = Math.min(chunkBytes, Math.max(total, 1));
    const ring = (r.buffers ?? [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)]).map((b) => {
      if (b.length < size) throw new Error(`resumable chunk buffers must hold ${size} bytes, got ${b.length}`);
      return b.subarray(0, size);
    });
    let k = 0;
    let buf = ring[0];
    let fill = 0;
    let offset = 0;
    let pending: Promise<unknown> | undefined;
    const body = r.body;
    if (body instanceof WholeBody) throw new Error('uploadResumable streams its body; a WholeBody goes through uploadSingle');
    const consume = async (): Promise<void> => {
      for await (const chunk of body) {
        let off = 0;
        while (off < chunk.length) {
          if (fill === buf.length) throw new TransferError(`source sent more than the expected ${total} bytes`, true);
          const n = chunk.copy(buf, fill, off);
          fill += n;
          off += n;
          // A full buffer is sent only if more bytes follow: the final chunk must wait for the verdict.
          if (fill === buf.length && offset + fill < total) {
            await pending;
            const p = this.putChunk(session, buf.subarray(0, fill), offset, total, undefined, r);
            p.catch(() => undefined); // awaited later; this only keeps it from being an unhandled rejection
            pending = p;
            offset += fill;
            fill = 0;
            k = (k + 1) % ring.length;
            buf = ring[k];
            // One buffer: it is the one on the wire, kept for a resend until its chunk is acknowledged.
            if (ring.length === 1) await pending;
          }
        }
      }
    };
    try {
      await consume();
    } catch (err) {
      // Let a chunk in flight settle before the caller cancels the session: never cancel under a write.
      await pending?.catch(() => undefined);
      throw err;
    }
    await pending;
    const done = await this.putChunk(session, buf.subarray(0, fill), offset, total, r.finalHash?.(), r);
    if (!done) throw new TransferError('GCS resumable upload: the final chunk was not acknowledged as complete', true);
    return done;
  }

  /**
   * Sends bytes [offset, offset+len) of the object. GCS may persist fewer bytes than a request carried and
   * say so in the 308's Range: the rest is sent again from that offset at once (progress, not a failure,
   * so no retry is drawn, up to FREE_SHORT_ACKS_PER_CHUNK times). A 308 that moves nothing forward is a
   * failure like any other: retried from what GCS holds, drawing from the copy's budget. Bytes GCS lost
   * from before this chunk are gone from our buffer too: the whole object restarts (the copy's retry).
   */
  private async putChunk(session: URL, data: Buffer, offset: number, total: number, hash: string | undefined, r: Pick<UploadRequest, 'signal' | 'retry'>): Promise<GcsObject | undefined> {
    const { signal } = r;
    const end = offset + data.length;
    let from = 0;
    let shortAcks = 0;
    const sent = await withRetry(
      async (attempt): Promise<GcsObject | undefined | { lostAt: number }> => {
        if (attempt > 1) {
          const persisted = await this.persisted(session, total, signal);
          if (persisted === 'complete') return this.finalObject(session, total, signal);
          if (persisted < offset || persisted > end) return { lostAt: persisted };
          from = persisted - offset;
        }
        for (;;) {
          const part = data.subarray(from);
          const last = end === total;
          const range = part.length === 0 ? `bytes */${total}` : `bytes ${offset + from}-${end - 1}/${total}`;
          const res = await this.request({
            origin: session.origin,
            path: session.pathname + session.search,
            method: 'PUT',
            headers: { 'content-range': range, 'content-length': String(part.length), ...(last && hash ? { 'x-goog-hash': hash } : {}) },
            body: part,
            signal,
          });
          if (res.statusCode !== 308) {
            await expectStatus(res, [200, 201], 'GCS resumable chunk');
            return toObject(await json(res));
          }
          await res.body.dump();
          const acked = ackedBytes(res);
          if (acked >= end) return undefined;
          if (acked < offset) return { lostAt: acked };
          if (acked <= offset + from) throw new TransferError(`GCS resumable chunk at ${offset + from}: the 308 acknowledged no new bytes (persisted ${acked})`, true);
          from = acked - offset; // a short acknowledgement: resend the rest
          if (++shortAcks > FREE_SHORT_ACKS_PER_CHUNK) throw new TransferError(`GCS resumable chunk at ${offset}: ${shortAcks} short acknowledgements (persisted ${acked} of ${end})`, true);
        }
      },
      { budget: r.retry },
    );
    if (sent && 'lostAt' in sent) throw new TransferError(`GCS resumable session lost bytes (persisted ${sent.lostAt}, chunk at ${offset}): restarting the object`, true);
    return sent;
  }

  /** How many bytes the session holds, or 'complete'. */
  private async persisted(session: URL, total: number, signal: AbortSignal): Promise<number | 'complete'> {
    const res = await this.request({ origin: session.origin, path: session.pathname + session.search, method: 'PUT', headers: { 'content-range': `bytes */${total}`, 'content-length': '0' }, signal });
    if (res.statusCode === 200 || res.statusCode === 201) {
      await res.body.dump();
      return 'complete';
    }
    if (res.statusCode !== 308) throw new HttpStatusError(res.statusCode, 'GCS resumable status', await errorText(res.body));
    await res.body.dump();
    return ackedBytes(res);
  }

  private async finalObject(session: URL, total: number, signal: AbortSignal): Promise<GcsObject> {
    const res = await this.request({ origin: session.origin, path: session.pathname + session.search, method: 'PUT', headers: { 'content-range': `bytes */${total}`, 'content-length': '0' }, signal });
    await expectStatus(res, [200, 201], 'GCS resumable status');
    return toObject(await json(res));
  }
}
