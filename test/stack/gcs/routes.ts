// Maps JSON API paths (and the XML API's multipart uploads) to handlers. Paths are matched still percent-encoded and each name segment is
// decoded exactly once, so names holding %, +, spaces, // or unicode arrive intact.
import type { FaultTable } from '../faults.js';
import { bucketOp, insertBucket, listBuckets } from './buckets.js';
import { composeObject, copyObject } from './copy.js';
import { badRequest, GcsError } from './errors.js';
import type { Exchange } from './exchange.js';
import { listObjects } from './list.js';
import { deleteObject, getObject, patchObject } from './objects.js';
import { resumeUpload, startResumable } from './resumable.js';
import type { Store } from './store.js';
import { simpleUpload } from './uploads.js';
import { isXmlMultipart, routeXmlMultipart } from './xmlMultipart.js';

// `storage/v1` is optional: @google-cloud/storage uses STORAGE_EMULATOR_HOST as its base URL verbatim.
const API = /^(?:\/(download|upload|resumable\/upload))?(?:\/storage\/v1)?(\/b(?:\/.*)?)$/;

function decode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw badRequest(`malformed percent-encoding in path segment: ${seg}`);
  }
}

export async function route(ex: Exchange, store: Store, faults: FaultTable): Promise<void> {
  const method = ex.req.method ?? 'GET';
  if (ex.path === '/__faults') return controlFaults(ex, faults);
  if (ex.path === '/__stats') {
    if (method === 'DELETE') {
      store.resetStats();
      return ex.send(204, {});
    }
    // ?objects_at_least=N&wait_ms=T: answers once N objects are live, or after T ms (at most a minute).
    const atLeast = ex.query.get('objects_at_least');
    if (atLeast !== null) {
      const waitMs = Number(ex.query.get('wait_ms') ?? '0');
      if (!/^\d+$/.test(atLeast) || !Number.isInteger(waitMs) || waitMs < 0 || waitMs > 60_000) throw badRequest('objects_at_least must be a count and wait_ms an integer of 0-60000 ms');
      await store.objectsReach(Number(atLeast), waitMs);
    }
    return ex.sendJson(200, store.stats);
  }
  // The XML API's multipart uploads, on S3-compatible paths: no JSON API request carries these parameters.
  if (isXmlMultipart(ex.query)) return routeXmlMultipart(ex, store);
  ex.fields(); // a malformed selection fails the request before it changes anything, as in GCS
  const api = API.exec(ex.path);
  if (!api) throw new GcsError(404, 'notFound', `Not Found: ${ex.path}`);
  const kind = api[1] ?? '';
  const rest = api[2] ?? '';
  let m: RegExpExecArray | null;

  if (kind.endsWith('upload')) {
    if (!(m = /^\/b\/([^/]+)\/o$/.exec(rest))) throw new GcsError(404, 'notFound', `Not Found: ${ex.path}`);
    const bucket = decode(m[1]);
    const id = ex.query.get('upload_id');
    if (id) return resumeUpload(ex, store, id);
    if (method !== 'POST') throw badRequest(`${method} on an upload URL needs upload_id`);
    const type = ex.query.get('uploadType') ?? (/^multipart\//i.test(ex.req.headers['content-type'] ?? '') ? 'multipart' : 'media');
    if (type === 'resumable') return startResumable(ex, store, bucket);
    if (type === 'media' || type === 'multipart') return simpleUpload(ex, store, bucket, type === 'multipart');
    throw badRequest(`Invalid uploadType: ${type}`);
  }

  if (rest === '/b') return method === 'POST' ? insertBucket(ex, store) : listBuckets(ex, store);
  if ((m = /^\/b\/([^/]+)(?:\/(storageLayout|iam|acl|defaultObjectAcl))?$/.exec(rest))) return bucketOp(ex, store, decode(m[1]), m[2]);
  if ((m = /^\/b\/([^/]+)\/o$/.exec(rest))) {
    if (method === 'GET') return listObjects(ex, store, decode(m[1]));
    throw badRequest(`${method} ${ex.path}: uploads go to /upload/storage/v1`);
  }
  if ((m = /^\/b\/([^/]+)\/o\/([^/]+)\/(rewriteTo|copyTo)\/b\/([^/]+)\/o\/([^/]+)$/.exec(rest)) && method === 'POST') {
    return copyObject(ex, store, m[3] as 'rewriteTo' | 'copyTo', [decode(m[1]), decode(m[2])], [decode(m[4]), decode(m[5])]);
  }
  if ((m = /^\/b\/([^/]+)\/o\/([^/]+)\/compose$/.exec(rest)) && method === 'POST') return composeObject(ex, store, decode(m[1]), decode(m[2]));
  // Object names normally arrive with '/' encoded; a client that leaves it raw still gets its name.
  if ((m = /^\/b\/([^/]+)\/o\/(.+)$/.exec(rest))) {
    const bucket = decode(m[1]);
    const name = decode(m[2]);
    if (method === 'GET' || method === 'HEAD') return getObject(ex, store, bucket, name);
    if (method === 'DELETE') return deleteObject(ex, store, bucket, name);
    if (method === 'PATCH' || method === 'PUT') return patchObject(ex, store, bucket, name);
  }
  throw new GcsError(404, 'notFound', `Not Found: ${method} ${ex.path}`);
}

async function controlFaults(ex: Exchange, faults: FaultTable): Promise<void> {
  if (ex.req.method === 'POST') {
    let ids: number[];
    try {
      // One rule or an array of them (ex.json() takes objects only).
      ids = faults.add(JSON.parse((await ex.text()) || 'null'));
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    return ex.sendJson(200, { ids });
  }
  if (ex.req.method === 'DELETE') {
    faults.clear(ex.query.get('bucket') ?? undefined);
    return ex.send(204, {});
  }
  await ex.sendJson(200, faults.list(ex.query.get('bucket') ?? undefined));
}
