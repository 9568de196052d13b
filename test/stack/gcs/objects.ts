// Reads and metadata changes of single objects: get (alt=json / alt=media with Range), delete, patch.
import { createReadStream } from 'node:fs';
import { GcsError, noSuchObject } from './errors.js';
import type { Exchange } from './exchange.js';
import { applyPatch, checkPreconditions, etag, objectResource } from './resource.js';
import type { ObjectMeta, Store } from './store.js';

/** The live object, honouring `generation=` (only the live generation is kept). */
export function liveObject(store: Store, q: URLSearchParams, bucket: string, name: string): ObjectMeta {
  const m = store.bucket(bucket).objects.get(name);
  const gen = q.get('generation');
  if (!m || (gen !== null && gen !== m.generation)) throw noSuchObject(bucket, name);
  return m;
}

export async function getObject(ex: Exchange, store: Store, bucket: string, name: string): Promise<void> {
  const media = ex.query.get('alt') === 'media' || ex.path.startsWith('/download/');
  await ex.faultGate(media ? 'download' : 'metadata', bucket, name);
  const m = liveObject(store, ex.query, bucket, name);
  checkPreconditions(ex.query, m, { read: true });
  if (!media) return ex.sendJson(200, objectResource(ex.base, m));
  if (!m.file) throw new GcsError(404, 'notFound', `The bytes of ${bucket}/${name} were discarded: the emulator runs with --discard`);
  const headers: Record<string, string | number> = {
    'content-type': m.contentType,
    'x-goog-hash': `crc32c=${m.crc32c}${m.md5Hash ? `,md5=${m.md5Hash}` : ''}`,
    'x-goog-generation': m.generation,
    'x-goog-metageneration': String(m.metageneration),
    'x-goog-stored-content-length': String(m.size),
    'x-goog-stored-content-encoding': m.contentEncoding ?? 'identity',
    'x-goog-storage-class': m.storageClass,
    etag: etag(m),
    'last-modified': new Date(m.updated).toUTCString(),
    'accept-ranges': 'bytes',
  };
  if (m.cacheControl) headers['cache-control'] = m.cacheControl;
  if (m.contentDisposition) headers['content-disposition'] = m.contentDisposition;
  if (m.contentLanguage) headers['content-language'] = m.contentLanguage;
  if (m.contentEncoding) headers['content-encoding'] = m.contentEncoding;
  const range = parseRange(ex.req.headers.range, m.size);
  if (range === 'unsatisfiable') {
    await ex.send(416, { 'content-range': `bytes */${m.size}`, 'content-type': 'application/json; charset=UTF-8' }, Buffer.from(new GcsError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.').body()));
    return;
  }
  if (!range) return ex.send(200, headers, createReadStream(m.file), m.size);
  const [start, end] = range;
  headers['content-range'] = `bytes ${start}-${end}/${m.size}`;
  await ex.send(206, headers, createReadStream(m.file, { start, end }), end - start + 1);
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined serves the whole object (also for multi-ranges). */
function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? undefined : [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (end < start) return undefined;
  return [start, end];
}

export async function deleteObject(ex: Exchange, store: Store, bucket: string, name: string): Promise<void> {
  await ex.faultGate('delete', bucket, name);
  const m = liveObject(store, ex.query, bucket, name);
  checkPreconditions(ex.query, m);
  store.remove(bucket, name);
  await ex.send(204, {});
}

/** PATCH merges; PUT (objects.update) replaces the writable fields and custom metadata. */
export async function patchObject(ex: Exchange, store: Store, bucket: string, name: string): Promise<void> {
  await ex.faultGate('patch', bucket, name);
  const body = await ex.json();
  const m = liveObject(store, ex.query, bucket, name);
  checkPreconditions(ex.query, m);
  const next: ObjectMeta = { ...m, metadata: m.metadata ? { ...m.metadata } : undefined, metageneration: m.metageneration + 1, updated: new Date().toISOString() };
  applyPatch(next, body, ex.req.method === 'PUT');
  store.put(next);
  await ex.sendJson(200, objectResource(ex.base, next));
}
