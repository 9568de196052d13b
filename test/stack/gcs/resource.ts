// JSON resources as the real API renders them, and the precondition rules every operation shares.
import type { Bucket, ObjectMeta } from './store.js';
import { GcsError, preconditionFailed } from './errors.js';

export const PROJECT_NUMBER = '123456789012';

export function objectResource(base: string, m: ObjectMeta): Record<string, unknown> {
  const enc = encodeURIComponent(m.name);
  const r: Record<string, unknown> = {
    kind: 'storage#object',
    id: `${m.bucket}/${m.name}/${m.generation}`,
    selfLink: `${base}/storage/v1/b/${m.bucket}/o/${enc}`,
    mediaLink: `${base}/download/storage/v1/b/${m.bucket}/o/${enc}?generation=${m.generation}&alt=media`,
    name: m.name,
    bucket: m.bucket,
    generation: m.generation,
    metageneration: String(m.metageneration),
    contentType: m.contentType,
    storageClass: m.storageClass,
    size: String(m.size),
    crc32c: m.crc32c,
    etag: etag(m),
    timeCreated: m.timeCreated,
    updated: m.updated,
    timeStorageClassUpdated: m.timeCreated,
  };
  if (m.md5Hash) r.md5Hash = m.md5Hash;
  if (m.componentCount) r.componentCount = m.componentCount;
  for (const k of ['contentEncoding', 'cacheControl', 'contentDisposition', 'contentLanguage'] as const) if (m[k] !== undefined) r[k] = m[k];
  if (m.metadata && Object.keys(m.metadata).length > 0) r.metadata = m.metadata;
  return r;
}

/** Changes with every generation and metageneration, as the real one does. */
export function etag(m: ObjectMeta): string {
  return Buffer.from(`${m.generation}/${m.metageneration}`).toString('base64');
}

export function bucketResource(base: string, b: Bucket): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: b.name,
    selfLink: `${base}/storage/v1/b/${b.name}`,
    projectNumber: PROJECT_NUMBER,
    name: b.name,
    timeCreated: b.timeCreated,
    updated: b.updated,
    metageneration: String(b.metageneration),
    location: b.location,
    locationType: 'multi-region',
    storageClass: b.storageClass,
    etag: 'CAE=',
    iamConfiguration: { bucketPolicyOnly: { enabled: true }, uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: 'inherited' },
    rpo: 'DEFAULT',
  };
}

/**
 * Checks if(Meta)generation(Not)Match against the live object (undefined: none). `prefix` selects the
 * ifSource* family on copies. Reads answer 304 for a NotMatch that holds false, as GCS does.
 */
export function checkPreconditions(q: URLSearchParams, cur: ObjectMeta | undefined, opts: { read?: boolean; prefix?: 'ifSource' } = {}): void {
  const p = opts.prefix ?? 'if';
  const get = (k: string): string | null => q.get(`${p}${k}`);
  const gm = get('GenerationMatch');
  if (gm !== null) {
    if (gm === '0' ? cur !== undefined : cur?.generation !== gm) throw preconditionFailed();
  }
  const gnm = get('GenerationNotMatch');
  if (gnm !== null && cur && cur.generation === gnm) throw notModifiedOr412(opts.read);
  const mm = get('MetagenerationMatch');
  if (mm !== null && String(cur?.metageneration) !== mm) throw preconditionFailed();
  const mnm = get('MetagenerationNotMatch');
  if (mnm !== null && cur && String(cur.metageneration) === mnm) throw notModifiedOr412(opts.read);
}

function notModifiedOr412(read?: boolean): GcsError {
  return read ? new GcsError(304, 'notModified', 'Not Modified') : preconditionFailed();
}

/** Client-settable fields accepted on insert and patch; anything else in a body is ignored, not stored. */
export const WRITABLE_FIELDS = ['contentType', 'contentEncoding', 'cacheControl', 'contentDisposition', 'contentLanguage'] as const;

/** Applies a patch (or a full update when replace) of writable fields and custom metadata. */
export function applyPatch(m: ObjectMeta, body: Record<string, unknown>, replace = false): void {
  for (const k of WRITABLE_FIELDS) {
    if (k in body) {
      const v = body[k];
      if (v === null || v === undefined || v === '') delete m[k];
      else m[k] = String(v);
    } else if (replace && k !== 'contentType') delete m[k];
  }
  if (!m.contentType) m.contentType = 'application/octet-stream';
  if ('metadata' in body || replace) {
    const patch = body.metadata;
    if (patch === null || patch === undefined) {
      delete m.metadata;
      return;
    }
    const next: Record<string, string> = replace ? {} : { ...(m.metadata ?? {}) };
    for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
      if (v === null) delete next[k];
      else next[k] = String(v);
    }
    m.metadata = next;
  }
}
