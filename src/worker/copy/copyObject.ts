// One object, S3 -> CDN -> GCS, verified before it counts. Each attempt: skip check (or an optimistic
// ifGenerationMatch=0 for small objects), part size for multipart ETags, one streaming pass that hashes
// while it uploads and refuses to finalize unverified bytes, then GCS's own hashes checked against ours.
// A bad copy that did get finalized is deleted (that generation only) before the retry.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { classify, httpStatus, TransferError } from '../../common/errors.js';
import { gcsObjectName } from '../../common/naming.js';
import { backoffMs, RetriesExhaustedError, sleep, withRetry } from '../../common/retry.js';
import type { ObjectEntry } from '../../common/messages.js';
import { parseEtag, partSizeFits, unquoteEtag, type SourceEtag } from '../../common/source/etag.js';
import type { CopyDeps } from './copier.js';
import { openSource, type SourceMeta, type SourceResponse } from './source.js';
import type { GcsObject, UploadMetadata, UploadRequest } from './gcsUpload.js';
import { StreamHasher, verdict, type Digests, type VerifiedBy } from './verify.js';

export type CopyOutcome =
  | { status: 'copied'; key: string; bytes: number; verifiedBy: VerifiedBy; attempts: number }
  | { status: 'skipped'; key: string; bytes: number; why: string }
  | { status: 'failed'; key: string; bytes: number; reason: string; attempts: number }
  /** Cut short by shutdown: nothing counted, the message must be redelivered. */
  | { status: 'aborted'; key: string; bytes: number };

/** GCS custom metadata keys we own (beside the carried-over x-amz-meta-* ones). */
export const META_SOURCE_ETAG = 'ott-source-etag';
export const META_SOURCE_LAST_MODIFIED = 'ott-source-last-modified';
export const META_VERIFIED_BY = 'ott-verified-by';

interface AttemptState {
  optimistic: boolean;
  partBytes?: number;
}

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/**
 * Already in GCS with the same size and the same content? For a single-part ETag GCS's own md5Hash
 * decides (our metadata alone could sit on a bad copy whose delete failed); otherwise the source ETag we
 * recorded, which only a verified copy (or one verified by size + CRC32C, for SSE-KMS) carries.
 */
export function sameObject(existing: GcsObject, entry: ObjectEntry): boolean {
  if (existing.size !== entry.size) return false;
  const etag = parseEtag(entry.etag);
  const sizeOnly = existing.metadata?.[META_VERIFIED_BY] === 'size+crc32c'; // SSE-KMS: the ETag is no MD5
  if (etag.kind === 'md5' && existing.md5Hash !== undefined && !sizeOnly) return existing.md5Hash === hexToBase64(etag.md5Hex);
  return existing.metadata?.[META_SOURCE_ETAG] === unquoteEtag(entry.etag);
}

export function uploadMetadata(name: string, entry: ObjectEntry, src: SourceMeta, etag: SourceEtag, storageClass: string | undefined): UploadMetadata {
  const verifiedBy: VerifiedBy = etag.kind === 'md5' ? 'md5' : etag.kind === 'multipart' ? 'multipart-etag' : 'size+crc32c';
  const meta: UploadMetadata = {
    name,
    metadata: { ...src.userMetadata, [META_SOURCE_ETAG]: unquoteEtag(entry.etag), [META_SOURCE_LAST_MODIFIED]: src.lastModified ?? entry.last_modified, [META_VERIFIED_BY]: verifiedBy },
  };
  for (const f of ['contentType', 'cacheControl', 'contentDisposition', 'contentLanguage', 'contentEncoding'] as const) if (src[f] !== undefined) meta[f] = src[f];
  // Known before the first byte: GCS itself rejects an upload whose bytes do not hash to it.
  if (etag.kind === 'md5') meta.md5Hash = hexToBase64(etag.md5Hex);
  if (storageClass) meta.storageClass = storageClass;
  return meta;
}

async function partSize(d: CopyDeps, entry: ObjectEntry, parts: number, signal: AbortSignal): Promise<number> {
  if (!d.s3Bucket) throw new TransferError('multipart ETag needs s3_bucket to learn the part size (HeadObject PartNumber=1)', false);
  const head = await d.s3().send(new HeadObjectCommand({ Bucket: d.s3Bucket, Key: entry.key, PartNumber: 1 }), { abortSignal: signal });
  const p = Number(head.ContentLength);
  if (head.PartsCount !== undefined && head.PartsCount !== parts) throw new TransferError(`S3 says ${head.PartsCount} parts, the ETag says ${parts}: the object changed since it was listed`, true);
  if (!partSizeFits(entry.size, parts, p)) throw new TransferError(`part 1 is ${p} bytes, which cannot make ${parts} uniform parts of ${entry.size} bytes`, false);
  return p;
}

async function attempt(d: CopyDeps, entry: ObjectEntry, st: AttemptState, attemptNo: number, signal: AbortSignal): Promise<CopyOutcome> {
  const name = gcsObjectName(entry.key, d.naming);
  const listed = parseEtag(entry.etag);
  let precondition = '0';
  if (!st.optimistic) {
    const existing = await d.gcs.get(d.gcsBucket, name, signal);
    if (existing && sameObject(existing, entry)) return { status: 'skipped', key: entry.key, bytes: entry.size, why: 'already in GCS with the same size and source ETag' };
    if (existing) precondition = existing.generation;
  }
  if (listed.kind === 'multipart' && st.partBytes === undefined) st.partBytes = await partSize(d, entry, listed.parts, signal);
  const src = await openSource(d.http, d.cdn, entry.key, d.naming, d.signer, signal);
  let body = src.body;
  let digests: Digests | undefined;
  let localFailure: TransferError | undefined;
  try {
    if (src.contentLength !== entry.size) throw new TransferError(`CDN serves ${src.contentLength} bytes, the listing says ${entry.size}: changed since listed, or a stale CDN cache`, true);
    const etag = src.meta.encrypted ? parseEtag(entry.etag, true) : listed;
    const hasher = new StreamHasher({ partBytes: etag.kind === 'multipart' ? st.partBytes : undefined, crc32c: etag.kind === 'opaque' });
    async function* verified(): AsyncGenerator<Buffer> {
      for (let resumes = 0; ; resumes++) {
        try {
          for await (const b of body) {
            hasher.update(b as Buffer);
            yield b as Buffer;
          }
          break;
        } catch (err) {
          // A broken download resumes where it broke (Range), the hashes carrying on: a reset at 4.9 GiB
          // of 5 GiB costs 0.1 GiB, not 4.9. Corruption is caught by the hashes at the end as before.
          const why = classify(err);
          if (signal.aborted || !why.retryable || resumes + 1 >= d.maxAttempts || hasher.bytes === 0) throw err;
          d.log.warn('cdnTransfer: resuming download', { key: entry.key, at_byte: hasher.bytes, reason: why.reason });
          await sleep(backoffMs(resumes + 1), signal);
          const next = await openSource(d.http, d.cdn, entry.key, d.naming, d.signer, signal, hasher.bytes);
          destroyBody(body);
          body = next.body;
          if (next.contentLength !== entry.size - hasher.bytes || (next.etag !== undefined && unquoteEtag(next.etag) !== unquoteEtag(entry.etag))) {
            throw new TransferError('the object changed while it was being copied (resumed range differs); starting over', true);
          }
        }
      }
      digests = hasher.digest();
      const v = verdict(entry.size, etag, digests);
      // Thrown before the final request: unverified bytes are never finalized in GCS.
      if (!v.ok) throw (localFailure = new TransferError(v.reason, true));
    }
    const req: UploadRequest = {
      bucket: d.gcsBucket,
      meta: uploadMetadata(name, entry, src.meta, etag, d.storageClass),
      ifGenerationMatch: precondition,
      sizeBytes: entry.size,
      body: verified(),
      finalHash: () => (digests ? [`md5=${digests.md5Base64}`, ...(digests.crc32cBase64 ? [`crc32c=${digests.crc32cBase64}`] : [])].join(',') : undefined),
      signal,
    };
    let obj: GcsObject;
    try {
      obj = entry.size <= d.singleRequestMaxBytes ? await d.gcs.uploadSingle(req) : await d.gcs.uploadResumable(req, d.chunkBytes);
    } catch (err) {
      if (localFailure) throw localFailure;
      if (httpStatus(err) === 412) {
        st.optimistic = false;
        const existing = await d.gcs.get(d.gcsBucket, name, signal);
        if (existing && sameObject(existing, entry)) return { status: 'skipped', key: entry.key, bytes: entry.size, why: 'written meanwhile with the same size and source ETag' };
        throw new TransferError('GCS precondition failed: the object changed meanwhile; rechecking', true, { cause: err });
      }
      throw err;
    }
    const v = verdict(entry.size, etag, digests!, obj);
    if (!v.ok) {
      await d.gcs.delete(d.gcsBucket, name, obj.generation, signal);
      throw new TransferError(`${v.reason}; the bad copy (generation ${obj.generation}) was deleted`, true);
    }
    return { status: 'copied', key: entry.key, bytes: entry.size, verifiedBy: v.verifiedBy, attempts: attemptNo };
  } finally {
    destroyBody(body);
  }
}

function destroyBody(body: SourceResponse['body']): void {
  if (body.destroyed) return;
  body.on('error', () => undefined); // destroying an unread undici body emits an AbortError
  body.destroy();
}

/** Copies one object with retries; never throws: every outcome is reported. */
export async function copyObject(d: CopyDeps, entry: ObjectEntry, signal: AbortSignal): Promise<CopyOutcome> {
  const st: AttemptState = { optimistic: entry.size <= d.optimisticMaxBytes };
  let attempts = 0;
  try {
    return await withRetry(
      (n) => {
        attempts = n;
        return attempt(d, entry, st, n, signal);
      },
      {
        maxAttempts: d.maxAttempts,
        budgetMs: d.retryBudgetMs,
        signal,
        onRetry: ({ attempt: n, delayMs, reason }) => d.log.warn('cdnTransfer: retrying object', { key: entry.key, attempt: n, delay_ms: delayMs, reason }),
      },
    );
  } catch (err) {
    if (signal.aborted) return { status: 'aborted', key: entry.key, bytes: entry.size };
    const reason = err instanceof RetriesExhaustedError ? err.reason : classify(err).reason;
    return { status: 'failed', key: entry.key, bytes: entry.size, reason, attempts: err instanceof RetriesExhaustedError ? err.attempts : attempts };
  }
}
