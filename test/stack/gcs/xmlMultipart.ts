// XML API multipart uploads on GCS's S3-compatible paths (path style, any auth accepted):
//   POST   /BUCKET/OBJECT?uploads                     initiate (metadata from headers) -> UploadId
//   PUT    /BUCKET/OBJECT?partNumber=N&uploadId=U      upload part N (Content-MD5 / x-goog-hash checked)
//   POST   /BUCKET/OBJECT?uploadId=U                   complete (CompleteMultipartUpload XML)
//   DELETE /BUCKET/OBJECT?uploadId=U                   abort
//   GET    /BUCKET/OBJECT?uploadId=U                   list parts
//   GET    /BUCKET?uploads                            list uploads in progress
// A part whose body does not match its Content-MD5, or that is cut off, stores nothing (an earlier part
// with that number stays).
import { randomBytes } from 'node:crypto';
import { UNKNOWN_LENGTH_FAULT_BYTES, type Exchange } from './exchange.js';
import type { Store } from './store.js';
import { corruptStored, googHash } from './uploads.js';
import { validName } from './names.js';
import { asXmlError, el, xmlBadRequest, xmlDocument, XmlError } from './xml.js';
import { completeUpload } from './xmlMultipartComplete.js';
import { listParts, listUploads } from './xmlMultipartList.js';
import { findUpload, MAX_PART_BYTES, MAX_PARTS, nextSeq, partEtag, refuse, refuseAwsChunked, refusePreconditions, releasePart, releaseParts, uploads, type UploadedPart } from './xmlMultipartState.js';

/** Requests that belong to the XML multipart API: only they carry these query parameters. */
export function isXmlMultipart(query: URLSearchParams): boolean {
  return query.has('uploads') || query.has('uploadId');
}

function target(path: string): { bucket: string; name?: string } {
  const m = /^\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!m) throw xmlBadRequest('InvalidURI', `Couldn't parse the specified URI: ${path}`);
  try {
    // Each segment decoded once, so names with %, +, // or unicode arrive intact.
    return { bucket: decodeURIComponent(m[1]), name: m[2] === undefined ? undefined : m[2].split('/').map(decodeURIComponent).join('/') };
  } catch {
    throw xmlBadRequest('InvalidURI', `malformed percent-encoding in ${path}`);
  }
}

export async function routeXmlMultipart(ex: Exchange, store: Store): Promise<void> {
  try {
    await dispatch(ex, store);
  } catch (err) {
    throw asXmlError(err);
  }
}

async function dispatch(ex: Exchange, store: Store): Promise<void> {
  const method = ex.req.method ?? 'GET';
  const { bucket, name } = target(ex.path);
  const id = ex.query.get('uploadId');
  if (name === undefined || name === '') {
    if (method === 'GET' && ex.query.has('uploads')) return listUploads(ex, store, bucket);
  } else if (id === null) {
    if (method === 'POST') return initiate(ex, store, bucket, name);
  } else {
    if (method === 'PUT' && ex.query.has('partNumber')) return uploadPart(ex, store, bucket, name, id);
    if (method === 'POST') return completeUpload(ex, store, bucket, name, id);
    if (method === 'DELETE') return abort(ex, bucket, name, id);
    if (method === 'GET') return listParts(ex, bucket, name, id);
  }
  await refuse(ex, new XmlError(405, 'MethodNotAllowed', `${method} ${ex.path}?${ex.query.toString()} is not a multipart upload operation`));
}

const STORAGE_CLASSES = new Set(['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE', 'MULTI_REGIONAL', 'REGIONAL', 'DURABLE_REDUCED_AVAILABILITY']);
const CONTENT_HEADERS: Record<string, string> = {
  'content-type': 'contentType',
  'cache-control': 'cacheControl',
  'content-disposition': 'contentDisposition',
  'content-encoding': 'contentEncoding',
  'content-language': 'contentLanguage',
};

/** The completed object's resource from the initiate request's headers (x-goog-* or their x-amz-* twins). */
function resourceFromHeaders(ex: Exchange): Record<string, unknown> {
  const resource: Record<string, unknown> = {};
  const metadata: Record<string, string> = {};
  for (const [h, v] of Object.entries(ex.req.headers)) {
    if (typeof v !== 'string') continue;
    if (CONTENT_HEADERS[h]) resource[CONTENT_HEADERS[h]] = v;
    const meta = /^x-(?:goog|amz)-meta-(.+)$/.exec(h);
    if (meta) metadata[meta[1]] = v;
  }
  if (Object.keys(metadata).length > 0) resource.metadata = metadata;
  return resource;
}

async function initiate(ex: Exchange, store: Store, bucket: string, name: string): Promise<void> {
  await ex.faultGate('initiate', bucket, name);
  await ex.drain();
  const b = store.bucket(bucket);
  validName(name);
  refusePreconditions(ex);
  const cls = ex.req.headers['x-goog-storage-class'] ?? ex.req.headers['x-amz-storage-class'];
  const storageClass = typeof cls === 'string' ? cls.toUpperCase() : b.storageClass;
  if (!STORAGE_CLASSES.has(storageClass)) throw xmlBadRequest('InvalidStorageClass', `The storage class you specified is not valid: ${storageClass}`);
  const id = randomBytes(24).toString('base64url');
  const initiated = new Date().toISOString();
  uploads.set(id, { id, bucket, name, initiated, seq: nextSeq(), storageClass, resource: resourceFromHeaders(ex), parts: new Map() });
  const body = xmlDocument('InitiateMultipartUploadResult', el('Bucket', bucket) + el('Key', name) + el('UploadId', id));
  await ex.send(200, { 'content-type': 'application/xml; charset=UTF-8', 'x-guploader-uploadid': id }, Buffer.from(body));
}

/** The request body; the `corrupt` fault flips the byte about halfway, as a bad link would in transit. */
async function* partBody(ex: Exchange): AsyncGenerator<Buffer> {
  if (!ex.fault || !('corrupt' in ex.fault)) return yield* ex.body();
  const declared = Number(ex.req.headers['content-length'] ?? NaN);
  const at = Number.isFinite(declared) ? Math.floor(declared / 2) : UNKNOWN_LENGTH_FAULT_BYTES;
  let seen = 0;
  for await (let chunk of ex.body()) {
    if (at >= seen && at < seen + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[at - seen] ^= 0xff;
    }
    seen += chunk.length;
    yield chunk;
  }
}

/** Content-MD5 as hex, if sent; InvalidDigest when it is not the base64 of 16 bytes. */
function contentMd5Hex(ex: Exchange): string | undefined {
  const v = ex.req.headers['content-md5'];
  if (v === undefined) return undefined;
  const raw = Buffer.from(String(v), 'base64');
  if (raw.length !== 16) throw xmlBadRequest('InvalidDigest', `The Content-MD5 you specified was invalid: ${String(v)}`);
  return raw.toString('hex');
}

async function uploadPart(ex: Exchange, store: Store, bucket: string, name: string, id: string): Promise<void> {
  const raw = ex.query.get('partNumber') ?? '';
  const partNumber = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(partNumber >= 1 && partNumber <= MAX_PARTS)) await refuse(ex, xmlBadRequest('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive; got ${raw}`));
  await ex.faultGate('part', bucket, name, partNumber);
  let wantMd5: string | undefined;
  try {
    refusePreconditions(ex);
    refuseAwsChunked(ex);
    findUpload(id, bucket, name);
    wantMd5 = contentMd5Hex(ex);
  } catch (err) {
    await refuse(ex, err as Error);
  }
  const writer = store.newWriter();
  let part: UploadedPart;
  try {
    for await (const chunk of partBody(ex)) {
      await writer.write(chunk);
      if (writer.size > MAX_PART_BYTES) throw xmlBadRequest('EntityTooLarge', `A part may hold at most ${MAX_PART_BYTES} bytes`);
    }
    const faulty = ex.fault !== undefined && 'storeCorrupt' in ex.fault;
    const w = faulty ? await corruptStored(await writer.finish()) : await writer.finish();
    const md5Hex = Buffer.from(w.md5Hash, 'base64').toString('hex');
    const hash = faulty ? {} : googHash(ex.req.headers['x-goog-hash']);
    if (!faulty && ((wantMd5 !== undefined && wantMd5 !== md5Hex) || (hash.md5 !== undefined && hash.md5 !== w.md5Hash))) {
      throw xmlBadRequest('BadDigest', `The Content-MD5 you specified did not match what was received for part ${partNumber}: nothing stored for it`);
    }
    if (hash.crc32c !== undefined && hash.crc32c !== w.crc32c) throw xmlBadRequest('BadDigest', `The CRC32C you specified did not match what was received for part ${partNumber}: nothing stored for it`);
    // Aborted or completed while this part streamed: it belongs to nothing any more.
    const up = findUpload(id, bucket, name);
    part = { partNumber, size: w.size, md5Hex, crc32c: w.crc32c, lastModified: new Date().toISOString(), file: w.tmp };
    releasePart(up.parts.get(partNumber));
    up.parts.set(partNumber, part);
    store.stats.parts++;
    store.stats.partBytes += w.size;
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await ex.send(200, { etag: partEtag(part), 'x-goog-hash': `crc32c=${part.crc32c},md5=${Buffer.from(part.md5Hex, 'hex').toString('base64')}` });
}

async function abort(ex: Exchange, bucket: string, name: string, id: string): Promise<void> {
  await ex.faultGate('abort', bucket, name);
  await ex.drain();
  const up = findUpload(id, bucket, name);
  uploads.delete(id);
  releaseParts(up);
  await ex.send(204, {});
}
