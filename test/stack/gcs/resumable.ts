// Resumable uploads: POST starts a session (200, Location, empty body); PUTs carry chunks with
// Content-Range and answer 308 plus `Range: bytes=0-N` until the last one, which answers the object.
// `Content-Range: bytes */N` or `*/*` asks how much arrived. Bytes a retry resends are skipped, so a
// client that resumes after a reset continues exactly where the server's copy ends. The shortAck fault
// keeps only part of a chunk and acknowledges only that, as GCS may: the client must resend the rest.
import { randomBytes } from 'node:crypto';
import { badRequest, GcsError } from './errors.js';
import { UNKNOWN_LENGTH_FAULT_BYTES, type Exchange } from './exchange.js';
import { checkPreconditions, objectResource } from './resource.js';
import type { ObjectMeta, ObjectWriter, Store } from './store.js';
import { checkDeclaredSize, MAX_OBJECT_BYTES, validName } from './names.js';
import { finalize, type PendingObject } from './uploads.js';

interface Session {
  pending: PendingObject;
  writer: ObjectWriter;
  done?: ObjectMeta;
  /** Requests on one session run one at a time, in arrival order. */
  tail: Promise<void>;
}

const sessions = new Map<string, Session>();

/** POST ...?uploadType=resumable */
export async function startResumable(ex: Exchange, store: Store, bucket: string): Promise<void> {
  store.bucket(bucket);
  const metadata = await ex.json();
  const name = validName(ex.query.get('name') ?? metadata.name);
  const declared = ex.req.headers['x-upload-content-length'];
  checkDeclaredSize(typeof declared === 'string' && declared !== '' ? Number(declared) : undefined);
  await ex.faultGate('upload', bucket, name);
  // Checked again at finalization; failing here saves the client sending bytes that cannot land.
  checkPreconditions(ex.query, store.bucket(bucket).objects.get(name));
  const id = randomBytes(16).toString('hex');
  const headerType = ex.req.headers['x-upload-content-type'];
  const contentType = typeof metadata.contentType === 'string' ? metadata.contentType : typeof headerType === 'string' ? headerType : undefined;
  const query = new URLSearchParams(ex.query);
  sessions.set(id, { pending: { bucket, name, metadata, contentType, query }, writer: store.newWriter(), tail: Promise.resolve() });
  query.set('upload_id', id);
  await ex.send(200, { location: `${ex.base}${ex.path}?${query.toString()}`, 'x-guploader-uploadid': id });
}

interface ContentRange {
  /** First byte of this request's data; undefined for a status query. */
  start?: number;
  /** Last byte of this request's data, when the header states it. */
  end?: number;
  /** The object's total size when the client knows it. */
  total?: number;
  /** The request ends the object even without a total (`bytes N-*\/*`, or no header). */
  last: boolean;
}

function parseRange(header: string | undefined): ContentRange {
  if (header === undefined) return { start: 0, last: true };
  const m = /^bytes\s+(?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw badRequest(`Failed to parse Content-Range header: ${header}`);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return { total, last: false };
  return { start: Number(m[1]), end: m[2] === '*' ? undefined : Number(m[2]), total, last: m[2] === '*' };
}

/** How many new bytes this chunk may add: all of them, unless a shortAck fault holds some back. */
function acceptLimit(ex: Exchange, range: ContentRange, skip: number): number {
  const f = ex.fault;
  if (!f || !('shortAck' in f)) return Infinity;
  const declared = Number(ex.req.headers['content-length'] ?? (range.end !== undefined ? range.end - range.start! + 1 : NaN));
  if (!Number.isFinite(declared)) return UNKNOWN_LENGTH_FAULT_BYTES;
  const fresh = Math.max(0, declared - skip);
  return f.dropBytes === undefined ? Math.floor(fresh / 2) : Math.max(0, fresh - f.dropBytes);
}

/** Appends the chunk's bytes past what the session holds, up to limit; true when some were held back. */
async function receive(ex: Exchange, s: Session, skip: number, limit: number): Promise<boolean> {
  let accepted = 0;
  let heldBack = false;
  for await (const c of ex.body()) {
    if (skip >= c.length) {
      skip -= c.length;
      continue;
    }
    let piece = skip > 0 ? c.subarray(skip) : c;
    skip = 0;
    if (piece.length > limit - accepted) {
      heldBack = true;
      piece = piece.subarray(0, Math.max(0, limit - accepted));
    }
    if (piece.length === 0) continue;
    await s.writer.write(piece);
    accepted += piece.length;
  }
  return heldBack;
}

/** PUT (or POST) ...?upload_id=ID */
export async function resumeUpload(ex: Exchange, store: Store, id: string): Promise<void> {
  const s = sessions.get(id);
  if (!s) {
    await ex.drain();
    throw new GcsError(404, 'notFound', `No such upload session: ${id}`);
  }
  const prev = s.tail;
  let release!: () => void;
  s.tail = new Promise((r) => (release = r));
  await prev;
  try {
    await chunk(ex, store, s, id);
  } finally {
    release();
  }
}

async function chunk(ex: Exchange, store: Store, s: Session, id: string): Promise<void> {
  const { bucket, name } = s.pending;
  await ex.faultGate('upload', bucket, name);
  if (ex.req.method === 'DELETE') {
    sessions.delete(id);
    await s.writer.abort();
    return ex.send(499, {});
  }
  if (s.done) {
    await ex.drain();
    return ex.sendJson(200, objectResource(ex.base, s.done));
  }
  const range = parseRange(ex.req.headers['content-range']);
  let heldBack = false;
  if (range.total !== undefined && range.total > MAX_OBJECT_BYTES) {
    sessions.delete(id);
    await s.writer.abort();
    await ex.drain();
    checkDeclaredSize(range.total);
  }
  if (range.start !== undefined) {
    const skip = s.writer.size - range.start;
    if (skip < 0) {
      await ex.drain();
      throw badRequest(`Invalid request. According to the Content-Range header, the upload offset is ${range.start} byte(s), which exceeds already uploaded size of ${s.writer.size} byte(s).`);
    }
    heldBack = await receive(ex, s, skip, acceptLimit(ex, range, skip));
  } else {
    await ex.drain();
  }
  const size = s.writer.size;
  if (range.total !== undefined && size > range.total) {
    sessions.delete(id);
    await s.writer.abort();
    throw badRequest(`Upload received ${size} bytes, more than the declared total ${range.total}`);
  }
  // A chunk cut short by shortAck never ends the upload: the client must send the rest first.
  if (!heldBack && (range.last || (range.total !== undefined && size === range.total))) {
    try {
      s.done = await finalize(ex, store, s.pending, s.writer, ex.req.headers['x-goog-hash']);
    } catch (err) {
      // A rejected upload (bad hash, failed precondition) ends the session, as GCS does.
      if (err instanceof GcsError && err.code < 500) sessions.delete(id);
      throw err;
    }
    return ex.sendJson(200, objectResource(ex.base, s.done));
  }
  const rangeHeader: Record<string, string> = size > 0 ? { range: `bytes=0-${size - 1}` } : {};
  // Go's HTTP client follows 308s as redirects, so Google's Go clients (rclone) ask for "incomplete" as a
  // 200 carrying X-Http-Status-Code-Override: 308, which real GCS honours.
  if (String(ex.req.headers['x-guploader-no-308']).toLowerCase() === 'yes') await ex.send(200, { ...rangeHeader, 'x-http-status-code-override': '308' });
  else await ex.send(308, rangeHeader);
}
