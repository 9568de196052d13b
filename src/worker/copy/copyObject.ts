// One object, S3 -> CDN -> GCS, verified before it counts. Each attempt: skip check (or an optimistic
// ifGenerationMatch=0 for small objects), the exact part sizes for multipart ETags, the GET (its ETag and
// size must be the listing's), S3's full-object checksum when the ETag is no MD5, one streaming pass that
// hashes while it uploads and refuses to finalize unverified bytes, then GCS's own hashes checked against
// ours. A bad copy that did get finalized is deleted (that generation only) before the retry.
import { classify, httpStatus, toError, TransferError } from '../../common/errors.js';
import { gcsObjectName } from '../../common/naming.js';
import { RetriesExhaustedError, RetryBudget, withRetry, type RetryInfo } from '../../common/retry.js';
import type { ObjectEntry } from '../../common/messages.js';
import { parseEtag, unquoteEtag, type SourceEtag } from '../../common/source/etag.js';
import type { CopyDeps } from './copier.js';
import { isThrottleStatus } from '../pace.js';
import { destroyBody, openSource, type SourceMeta, type SourceResponse } from './source.js';
import { WholeBody, type GcsObject, type UploadMetadata, type UploadRequest } from './gcsUpload.js';
import { fullObjectChecksum, partLayout, type PartLayout, type S3Head, type SourceChecksum } from './s3Head.js';
import { StreamHasher, verdict, type Digests, type VerifiedBy } from './verify.js';
import { copyParallel, planParts, SerialOnly } from './parallel.js';
import { compareWithGcs, META_SOURCE_ETAG, META_SOURCE_LAST_MODIFIED, META_VERIFIED_BY, type SameBy } from './same.js';

/**
 * Why an object was not copied, rclone-style (NeedTransfer says why): GCS already holds it, proven by
 * GCS's MD5 against a single-part ETag (`same-md5`) or by the source ETag a verified copy recorded
 * (`same-source-etag`); or another writer stored the same object between our look and our write
 * (`written-meanwhile`). An optimistic write (no look first) that meets the object gives its evidence.
 */
export type SkipReason = SameBy | 'written-meanwhile';
export const SKIP_REASONS: readonly SkipReason[] = ['same-md5', 'same-source-etag', 'written-meanwhile'];

export type CopyOutcome =
  /** `attempts`: tries across every step of the copy (whole attempts, chunk resends, download resumes). */
  | { status: 'copied'; key: string; bytes: number; verifiedBy: VerifiedBy; attempts: number }
  | { status: 'skipped'; key: string; bytes: number; why: SkipReason }
  | { status: 'failed'; key: string; bytes: number; reason: string; attempts: number }
  /** Cut short by shutdown: nothing counted, the message must be redelivered. */
  | { status: 'aborted'; key: string; bytes: number };

export { META_SOURCE_ETAG, META_SOURCE_LAST_MODIFIED, META_VERIFIED_BY } from './same.js';

/** What one copy learned, kept across its attempts. */
interface AttemptState {
  optimistic: boolean;
  layout?: PartLayout;
  /** S3's full-object checksum; null: asked, S3 holds none (or no S3 access is configured). */
  checksum?: SourceChecksum | null;
  /** The source must go as one stream (SSE-KMS found by the parallel path's first GET). */
  serial?: boolean;
}

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** Already in GCS, and by what evidence? The one decision (same.ts) every path shares. Undefined: copy it. */
export function sameBy(existing: GcsObject, entry: ObjectEntry): SameBy | undefined {
  const v = compareWithGcs(entry, existing);
  return v.same ? v.by : undefined;
}

/** Whether GCS already holds this object (see sameBy). */
export function sameObject(existing: GcsObject, entry: ObjectEntry): boolean {
  return sameBy(existing, entry) !== undefined;
}

export function uploadMetadata(name: string, entry: ObjectEntry, src: SourceMeta, etag: SourceEtag, storageClass: string | undefined, checksum?: SourceChecksum): UploadMetadata {
  const verifiedBy: VerifiedBy = etag.kind === 'md5' ? 'md5' : etag.kind === 'multipart' ? 'multipart-etag' : checksum ? 'crc' : 'size-only';
  const metadata: Record<string, string> = { ...src.userMetadata };
  metadata[META_SOURCE_ETAG] = unquoteEtag(entry.etag);
  metadata[META_SOURCE_LAST_MODIFIED] = src.lastModified ?? entry.last_modified;
  metadata[META_VERIFIED_BY] = verifiedBy;
  // One shape for every object (absent fields undefined, which JSON leaves out): built once per object.
  return {
    name,
    contentType: src.contentType,
    cacheControl: src.cacheControl,
    contentDisposition: src.contentDisposition,
    contentLanguage: src.contentLanguage,
    contentEncoding: src.contentEncoding,
    // Known before the first byte: GCS itself rejects an upload whose bytes do not hash to it.
    md5Hash: etag.kind === 'md5' ? hexToBase64(etag.md5Hex) : undefined,
    // S3's full-object CRC32C is GCS's crc32c: GCS checks it too.
    crc32c: etag.kind === 'opaque' && checksum?.algorithm === 'CRC32C' ? checksum.base64 : undefined,
    storageClass: storageClass || undefined,
    metadata,
  };
}

function s3Head(d: CopyDeps, why: string): S3Head {
  if (!d.s3Bucket) throw new TransferError(`${why} needs s3_bucket (S3 HeadObject)`, false);
  return { s3: d.s3, bucket: d.s3Bucket };
}

/**
 * S3's full-object checksum for an object whose ETag proves nothing, or null: none kept, no s3_bucket, or
 * the key may not HeadObject (403: the copy is then verified by size only, counted, and the log says how
 * to do better, rather than every SSE-KMS object failing).
 */
async function sourceChecksum(d: CopyDeps, entry: ObjectEntry, signal: AbortSignal): Promise<SourceChecksum | null> {
  if (!d.s3Bucket) return null;
  try {
    return (await fullObjectChecksum(s3Head(d, 'a checksum'), entry.key, entry.etag, signal)) ?? null;
  } catch (err) {
    if (httpStatus(err) !== 403) throw err;
    d.log.warn('cdnTransfer: S3 refused HeadObject for the checksum of an object whose ETag is no MD5; verifying it by size only (grant s3:GetObject to the AWS key)', { key: entry.key, error: toError(err).message });
    return null;
  }
}

/** The current response body of a download, and the failure that ends the attempt, if it came from us. */
interface Download {
  body: SourceResponse['body'];
  failure?: Error;
}

/**
 * After a download broke at byte hasher.bytes: waits out the retry, then opens the rest (Range) into
 * dl.body, the hashes carrying on. A resume is a retry of the copy and draws from its budget; corruption
 * is caught by the hashes at the end as before. Throws the failure that ends the attempt instead: nothing
 * read yet (start over is as cheap), shutting down, the budget spent, the resume refused.
 */
async function resume(d: CopyDeps, entry: ObjectEntry, dl: Download, err: unknown, hasher: StreamHasher, budget: RetryBudget, signal: AbortSignal): Promise<void> {
  if (signal.aborted || hasher.bytes === 0) throw err;
  const onRetry = ({ attempt: n, delayMs, reason }: RetryInfo): void => d.log.warn('cdnTransfer: resuming download', { key: entry.key, at_byte: hasher.bytes, attempt: n, delay_ms: delayMs, reason });
  try {
    await budget.retryAfter(err, onRetry);
  } catch (gaveUp) {
    throw (dl.failure = toError(gaveUp));
  }
  destroyBody(dl.body);
  // A resume that is refused, serves another version, or ignores the Range (200: bytes from 0, never
  // to be appended) fails the attempt; the next one starts over from byte 0.
  const next = await openSource(d.http, d.cdn, entry, d.naming, d.signer, signal, hasher.bytes).catch((e: unknown) => {
    throw (dl.failure = toError(e));
  });
  dl.body = next.body;
}

/**
 * The object's bytes from the CDN, hashed as they pass. A broken download resumes where it broke (Range):
 * a reset at 4.9 GiB of 5 GiB costs 0.1 GiB, not 4.9.
 */
async function* resumingBody(d: CopyDeps, entry: ObjectEntry, dl: Download, hasher: StreamHasher, budget: RetryBudget, signal: AbortSignal): AsyncGenerator<Buffer> {
  for (;;) {
    try {
      for await (const b of dl.body) {
        hasher.update(b as Buffer);
        yield b as Buffer;
      }
      return;
    } catch (err) {
      await resume(d, entry, dl, err, hasher, budget, signal);
    }
  }
}

/**
 * Copies one response body into `into` from byte hasher.bytes on, hashing it; rejects if it breaks or
 * overflows. Its own four listeners rather than stream.finished(), which sets up a dozen per call (measured:
 * ~750 bytes of garbage per small object, and its CPU): 'end' is success, 'error' the failure, and a
 * 'close' before either is a download cut short.
 */
function readInto(body: SourceResponse['body'], into: Buffer, hasher: StreamHasher): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      if (hasher.bytes + b.length > into.length) return void body.destroy(new TransferError(`source sent more than the expected ${into.length} bytes`, true));
      b.copy(into, hasher.bytes);
      hasher.update(b);
    };
    const settle = (err?: Error): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const cutShort = (): Error => new TransferError(`CDN download closed at byte ${hasher.bytes} of ${into.length}`, true);
    const onEnd = (): void => settle();
    const onError = (err: Error): void => settle(err);
    const onClose = (): void => settle(cutShort());
    if (body.errored || body.destroyed) return settle(body.errored ?? cutShort());
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
    body.on('data', onData);
  });
}

/** The whole (small) object into `into`, hashed as it arrives, resuming a broken download as resumingBody does. */
async function readWhole(d: CopyDeps, entry: ObjectEntry, dl: Download, hasher: StreamHasher, into: Buffer, budget: RetryBudget, signal: AbortSignal): Promise<void> {
  for (;;) {
    try {
      return await readInto(dl.body, into, hasher);
    } catch (err) {
      if (hasher.bytes >= into.length) throw err; // nothing left to resume: an overflow
      await resume(d, entry, dl, err, hasher, budget, signal);
    }
  }
}

/** The body's bytes, then the local verdict: it throws before the upload's final request, never after. */
async function* verified(body: AsyncGenerator<Buffer>, local: () => Promise<void>): AsyncGenerator<Buffer> {
  yield* body;
  await local();
}

/** The mode logs each skip at DEBUG and counts it per reason (cdnTransfer, the rsync cdn engine). */
function skipped(entry: ObjectEntry, why: SkipReason): CopyOutcome {
  return { status: 'skipped', key: entry.key, bytes: entry.size, why };
}

async function attempt(d: CopyDeps, entry: ObjectEntry, st: AttemptState, budget: RetryBudget, signal: AbortSignal): Promise<CopyOutcome> {
  const name = gcsObjectName(entry.key, d.naming);
  const listed = parseEtag(entry.etag);
  let precondition = '0';
  const looked = !st.optimistic; // a 412 after a look means another writer came in between
  if (looked) {
    const existing = await d.gcs.get(d.gcsBucket, name, signal);
    const same = existing && sameBy(existing, entry);
    if (same) return skipped(entry, same);
    if (existing) precondition = existing.generation;
  }
  if (listed.kind === 'multipart') st.layout ??= await partLayout(s3Head(d, 'a multipart ETag'), entry.key, entry.etag, entry.size, listed.parts, signal);
  // Large objects in parallel parts (parallel.ts): ETags that are MD5s (whole or of parts) only; SSE-KMS
  // (no MD5 to check the parts against) and whatever the first GET finds encrypted go as one stream.
  const layout = st.layout;
  if (looked && !st.serial && entry.size >= d.parallelThresholdBytes && listed.kind !== 'opaque' && !layout?.encrypted && d.parallelSlots.free > 0) {
    const plan = planParts(entry.size, d.parallelPartBytes, layout && !layout.encrypted ? layout.partSizes : undefined);
    const metadata = (m: SourceMeta): UploadMetadata => uploadMetadata(name, entry, m, listed, d.storageClass);
    d.parallelSlots.free--;
    try {
      const r = await copyParallel(d, { entry, name, etag: listed, plan, precondition, metadata, same: (o) => sameBy(o, entry) !== undefined }, budget, signal);
      if (r.status === 'written-meanwhile') return skipped(entry, 'written-meanwhile');
      return { status: 'copied', key: entry.key, bytes: entry.size, verifiedBy: r.verifiedBy, attempts: budget.attempts };
    } catch (err) {
      if (!(err instanceof SerialOnly)) throw err;
      st.serial = true;
    } finally {
      d.parallelSlots.free++;
    }
  }
  // A resumable upload's chunk buffers come from the process's slabs (slabs.ts), taken before the GET so
  // no CDN response idles while the copy waits for memory.
  const resumable = entry.size > d.singleRequestMaxBytes;
  const buffers = resumable ? await d.slabs.take(2, signal) : [];
  let src: SourceResponse;
  try {
    src = await openSource(d.http, d.cdn, entry, d.naming, d.signer, signal);
  } catch (err) {
    d.slabs.give(buffers);
    throw err;
  }
  const dl: Download = { body: src.body };
  let digests: Digests | undefined;
  try {
    const etag = src.meta.encrypted || st.layout?.encrypted ? parseEtag(entry.etag, true) : listed;
    // Only where the ETag proves nothing (SSE-KMS), one HeadObject for S3's checksum (see s3Head.ts).
    if (etag.kind === 'opaque' && st.checksum === undefined) st.checksum = await sourceChecksum(d, entry, signal);
    const checksum = etag.kind === 'opaque' ? (st.checksum ?? undefined) : undefined;
    const partSizes = etag.kind === 'multipart' && st.layout && !st.layout.encrypted ? st.layout.partSizes : undefined;
    // One MD5 per byte: the whole object's for a single-part ETag (and an opaque one, GCS's md5Hash checks
    // it), the parts' for a multipart ETag, whose read -> GCS check is then the CRC32C (native, cheap).
    const hasher = new StreamHasher({ partSizes, crc32c: etag.kind !== 'md5', wholeMd5: etag.kind !== 'multipart', checksum });
    const local = async (): Promise<void> => {
      digests = await hasher.digest();
      const v = verdict(entry.size, etag, digests);
      // Thrown before the final request: unverified bytes are never finalized in GCS.
      if (!v.ok) throw (dl.failure = new TransferError(v.reason, true));
    };
    const meta = uploadMetadata(name, entry, src.meta, etag, d.storageClass, checksum);
    // A small object is read whole and verified before its upload starts, then sent in one write.
    let body: UploadRequest['body'];
    if (entry.size <= Math.min(d.wholeMaxBytes, d.singleRequestMaxBytes)) {
      const whole = new WholeBody(meta, entry.size);
      await readWhole(d, entry, dl, hasher, whole.media, budget, signal);
      await local();
      body = whole;
    } else body = verified(resumingBody(d, entry, dl, hasher, budget, signal), local);
    const req: UploadRequest = {
      bucket: d.gcsBucket,
      meta,
      ifGenerationMatch: precondition,
      sizeBytes: entry.size,
      body,
      finalHash: () => (digests ? [...(digests.md5Base64 ? [`md5=${digests.md5Base64}`] : []), ...(digests.crc32cBase64 ? [`crc32c=${digests.crc32cBase64}`] : [])].join(',') || undefined : undefined),
      signal,
      retry: budget,
      buffers,
    };
    let obj: GcsObject;
    try {
      obj = resumable ? await d.gcs.uploadResumable(req, d.chunkBytes) : await d.gcs.uploadSingle(req);
    } catch (err) {
      // Our own verdict or a download that gave up, whatever the upload made of the body's error.
      if (dl.failure) throw dl.failure;
      if (httpStatus(err) === 412) {
        st.optimistic = false;
        const existing = await d.gcs.get(d.gcsBucket, name, signal);
        const same = existing && sameBy(existing, entry);
        if (same) return skipped(entry, looked ? 'written-meanwhile' : same);
        throw new TransferError('GCS precondition failed: the object changed meanwhile; rechecking', true, { cause: err });
      }
      throw err;
    }
    const v = verdict(entry.size, etag, digests!, obj);
    if (!v.ok) {
      await d.gcs.delete(d.gcsBucket, name, obj.generation, signal);
      throw new TransferError(`${v.reason}; the bad copy (generation ${obj.generation}) was deleted`, true);
    }
    return { status: 'copied', key: entry.key, bytes: entry.size, verifiedBy: v.verifiedBy, attempts: budget.attempts };
  } finally {
    destroyBody(dl.body);
    d.slabs.give(buffers);
  }
}

/**
 * Copies one object with retries; never throws: every outcome is reported. One retry budget serves the
 * whole copy: whole attempts, chunk resends and download resumes all draw from it.
 */
export async function copyObject(d: CopyDeps, entry: ObjectEntry, signal: AbortSignal): Promise<CopyOutcome> {
  const st: AttemptState = { optimistic: entry.size <= d.optimisticMaxBytes };
  // A throttled write (GCS 429/503; the pacer heard it and paused the fleet) is sent again only when the
  // pacer lets a new write start, whichever step retries it: GCS asked the fleet to slow down, and a backoff
  // of a few hundred ms would resend it into the pause. A CDN 503 waits too: one rule, and a write follows.
  const pacer = d.pacer;
  const gate = pacer && ((failure: Error) => (isThrottleStatus(httpStatus(failure)) ? pacer.take(signal) : undefined));
  const budget = new RetryBudget({ maxAttempts: d.maxAttempts, budgetMs: d.retryBudgetMs, signal, gate });
  try {
    return await withRetry(() => attempt(d, entry, st, budget, signal), {
      budget,
      onRetry: ({ attempt: n, delayMs, reason }) => d.log.warn('cdnTransfer: retrying object', { key: entry.key, attempt: n, delay_ms: delayMs, reason }),
    });
  } catch (err) {
    if (signal.aborted) return { status: 'aborted', key: entry.key, bytes: entry.size };
    const reason = err instanceof RetriesExhaustedError ? err.reason : classify(err).reason;
    return { status: 'failed', key: entry.key, bytes: entry.size, reason, attempts: err instanceof RetriesExhaustedError ? err.attempts : budget.attempts };
  }
}
