// One large object in parallel parts: several ranged GETs through the signed CDN URL at once, each streamed
// into one part of a GCS XML API multipart upload (gcsMultipart.ts), at most `parallel_parts` in flight.
// - Ranges: a multipart source's own S3 parts (exact sizes from S3, see s3Head.ts), so each part's MD5 is
//   one of the MD5s its ETag md5(part md5s)-N is made of: the ETag is checked exactly though the parts
//   arrive in any order. A single-part source is cut into `parallel_part_bytes` ranges and its MD5 (the
//   ETag) is computed in order as the parts arrive (inOrderMd5.ts).
// - What is verified, and how; every byte goes through exactly one MD5 (the one the source's ETag needs)
//   and one CRC32C (native, ~20x cheaper than MD5):
//   S3 -> our read: the ETag. Multipart source: each part's own MD5, md5 of them = the ETag. Single-part
//     source: the whole object's MD5 in order = the ETag (a per-part MD5 would hash every byte twice).
//   our read -> GCS's part: multipart source: GCS's answer for the part (its MD5 ETag) must be our part
//     MD5, and its CRC32C ours when it sends one; complete names the parts by our MD5s. Single-part source:
//     GCS's CRC32C of the part (x-goog-hash, which GCS sends for every part) must be ours, else the part is
//     sent again; complete names the parts by the ETags GCS answered for those checked parts.
//   GCS's parts -> the object: its size, and its CRC32C (the only hash GCS keeps for a composite) must be
//     the CRC32C combined from our parts' CRCs; its metadata must carry the source ETag.
//   A part cannot carry Content-MD5: the header precedes the body, and holding parts (S3's may be 5 GiB)
//   to learn it would unbound memory. A failed part is sent again alone, from the copy's one retry budget.
// - Nothing half-written survives: any failure, shutdown included, aborts the upload (its parts go with it).
// - No overwrite of a newer object: XML multipart takes no preconditions, so the destination's generation
//   is checked (JSON API) right before complete, and the object is verified after it: size, the CRC32C
//   combined from the parts, the source ETag in its metadata. A bad copy is deleted (that generation only).
import { crc32c } from '@node-rs/crc32';
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { httpStatus, TransferError, toError } from '../../common/errors.js';
import { createLimiter } from '../../common/limit.js';
import type { ObjectEntry } from '../../common/messages.js';
import { withRetry, type RetryBudget } from '../../common/retry.js';
import { multipartEtag, unquoteEtag, type SourceEtag } from '../../common/source/etag.js';
import type { CopyDeps } from './copier.js';
import { crc32cBase64, crc32cCombine } from './crc32c.js';
import type { GcsObject, UploadMetadata } from './gcsUpload.js';
import type { MultipartTarget, UploadedPart } from './gcsMultipart.js';
import { InOrderMd5 } from './inOrderMd5.js';
import { PARALLEL_SLABS } from './slabs.js';
import { destroyBody, openSource, type SourceMeta, type SourceResponse } from './source.js';
import { verdict, type VerifiedBy } from './verify.js';
import { META_SOURCE_ETAG } from './same.js';

/** GCS's limits for XML API multipart uploads. */
const MAX_PARTS = 10_000;

export interface PlannedPart {
  /** 1-based, as the upload numbers it. */
  number: number;
  start: number;
  sizeBytes: number;
}

/** The source turned out to need the single stream (SSE-KMS: its ETag is no MD5); nothing was written. */
export class SerialOnly extends Error {}

/** A multipart source's own parts, else ranges of `partBytes` (grown so there are at most 10,000). */
export function planParts(sizeBytes: number, partBytes: number, s3PartSizes?: readonly number[]): PlannedPart[] {
  const sizes: number[] = s3PartSizes ? [...s3PartSizes] : [];
  if (!s3PartSizes) {
    const step = Math.max(partBytes, Math.ceil(sizeBytes / MAX_PARTS));
    for (let at = 0; at < sizeBytes; at += step) sizes.push(Math.min(step, sizeBytes - at));
  }
  let start = 0;
  return sizes.map((n, i) => {
    const p = { number: i + 1, start, sizeBytes: n };
    start += n;
    return p;
  });
}

export interface ParallelJob {
  entry: ObjectEntry;
  name: string;
  etag: Extract<SourceEtag, { kind: 'md5' | 'multipart' }>;
  plan: PlannedPart[];
  /** The generation we replace ('0': none), as our look before found it. */
  precondition: string;
  metadata: (src: SourceMeta) => UploadMetadata;
  /** The look after a race: same object already there? */
  same: (existing: GcsObject) => boolean;
}

export type ParallelResult = { status: 'copied'; verifiedBy: VerifiedBy } | { status: 'written-meanwhile' };

interface Done {
  /** The part's MD5 (hex): ours, for a multipart source; GCS's answer, its ETag, for a single-part one. */
  md5Hex: string;
  crc: number;
  sizeBytes: number;
}

/** A ranged GET of one part; an SSE-KMS object sends the copy back to the single stream. */
async function openFirst(d: CopyDeps, job: ParallelJob, p: PlannedPart, signal: AbortSignal): Promise<SourceResponse> {
  const src = await openSource(d.http, d.cdn, job.entry, d.naming, d.signer, signal, p.start, p.start + p.sizeBytes - 1);
  if (src.meta.encrypted) {
    destroyBody(src.body);
    throw new SerialOnly(`${job.entry.key}: SSE-KMS, its ETag is no MD5`);
  }
  return src;
}

/** One part: GET its range, stream it into its upload part, check GCS stored what we read. Retried alone. */
async function copyPart(d: CopyDeps, job: ParallelJob, t: MultipartTarget, p: PlannedPart, first: SourceResponse | undefined, seq: InOrderMd5 | undefined, budget: RetryBudget, signal: AbortSignal): Promise<Done> {
  let prefetched = first;
  return withRetry(
    async () => {
      const src = prefetched ?? (await openSource(d.http, d.cdn, job.entry, d.naming, d.signer, signal, p.start, p.start + p.sizeBytes - 1));
      prefetched = undefined;
      try {
        if (src.meta.encrypted) throw new TransferError(`part ${p.number} of ${JSON.stringify(job.entry.key)} came back SSE-KMS, part 1 did not: the object changed since it was listed`, true);
        // The part's own MD5 only where the ETag is made of part MD5s; else the in-order MD5 is the one.
        const md5 = seq ? undefined : createHash('md5');
        let crc = 0;
        let bytes = 0;
        seq?.begin(p.number - 1);
        async function* body(): AsyncGenerator<Buffer> {
          for await (const b of src.body as AsyncIterable<Buffer>) {
            md5?.update(b);
            crc = crc32c(b, crc);
            bytes += b.length;
            const held = seq?.update(p.number - 1, b, signal);
            if (held) await held; // only a part ahead of the MD5 whose slabs are full waits
            yield b;
          }
        }
        const up = await d.multipart.uploadPart(t, p.number, p.sizeBytes, body(), signal);
        if (bytes !== p.sizeBytes) throw new TransferError(`part ${p.number}: read ${bytes} bytes, expected ${p.sizeBytes}`, true);
        const crcBase64 = crc32cBase64(crc);
        if (up.crc32c !== undefined && up.crc32c !== crcBase64) throw new TransferError(`corrupted on transfer: GCS stored part ${p.number} with CRC32C ${up.crc32c}, we sent ${crcBase64}: sending it again`, true);
        let md5Hex = up.md5Hex;
        if (md5) {
          md5Hex = md5.digest('hex');
          if (up.md5Hex !== md5Hex) throw new TransferError(`corrupted on transfer: GCS stored part ${p.number} with MD5 ${up.md5Hex}, we sent ${md5Hex}: sending it again`, true);
        } else if (up.crc32c === undefined) {
          // Without our part MD5, GCS's CRC32C is what ties the stored part to our bytes: no assembling without it.
          throw new TransferError(`GCS answered part ${p.number} without a CRC32C (x-goog-hash): the part cannot be checked; sending it again`, true);
        }
        seq?.end(p.number - 1);
        return { md5Hex, crc, sizeBytes: bytes };
      } finally {
        destroyBody(src.body);
      }
    },
    { budget, onRetry: ({ attempt, delayMs, reason }) => d.log.warn('cdnTransfer: retrying part', { key: job.entry.key, part: p.number, attempt, delay_ms: delayMs, reason }) },
  );
}

/** Every part, at most `parallel_parts` at once; the first failure stops the others (through `ac`). */
async function copyParts(d: CopyDeps, job: ParallelJob, t: MultipartTarget, first: SourceResponse, slabs: readonly Buffer[], budget: RetryBudget, ac: AbortController): Promise<{ done: Done[]; md5Hex?: string }> {
  const { signal } = ac;
  const seq = job.etag.kind === 'md5' ? new InOrderMd5(job.plan.length, slabs) : undefined;
  const done: Done[] = new Array<Done>(job.plan.length);
  const limiter = createLimiter(d.parallelParts);
  let failure: { err: unknown } | undefined;
  let firstTaken = false;
  for (const p of job.plan) {
    if (failure || signal.aborted) break;
    firstTaken = true;
    await limiter.start(async () => {
      try {
        done[p.number - 1] = await copyPart(d, job, t, p, p.number === 1 ? first : undefined, seq, budget, signal);
        // A single-part source's part keeps its slot until it went into the MD5: no new part starts while
        // the ones ahead of a slow part wait for it (their bytes are in the copy's slabs meanwhile).
        await seq?.hashed(p.number - 1, signal);
      } catch (err) {
        failure ??= { err };
        ac.abort();
        throw err;
      }
    });
  }
  if (!firstTaken) destroyBody(first.body);
  await limiter.idle().catch(() => undefined);
  if (failure) throw failure.err;
  if (signal.aborted) throw toError(signal.reason ?? new Error('aborted'));
  return { done, md5Hex: seq?.digestHex() };
}

/** The local verdict on what was read (size; the ETag, whole-object MD5 or md5(part md5s)-N) and the CRC32C of the whole. */
function localCheck(job: ParallelJob, got: { done: Done[]; md5Hex?: string }): { crcBase64: string; digests: Parameters<typeof verdict>[2] } {
  const bytes = got.done.reduce((a, p) => a + p.sizeBytes, 0);
  let crc = 0;
  for (const p of got.done) crc = crc32cCombine(crc, p.crc, p.sizeBytes);
  const md5Hex = got.md5Hex;
  const digests = {
    bytes,
    md5Hex,
    md5Base64: md5Hex === undefined ? undefined : Buffer.from(md5Hex, 'hex').toString('base64'),
    multipartEtag: job.etag.kind === 'multipart' ? multipartEtag(got.done.map((p) => Buffer.from(p.md5Hex, 'hex'))) : undefined,
    crc32cBase64: crc32cBase64(crc),
  };
  return { crcBase64: digests.crc32cBase64, digests };
}

/** The object we completed, as GCS holds it, checked against what we read; a bad copy is deleted. */
async function verifyStored(d: CopyDeps, job: ParallelJob, generation: string | undefined, local: ReturnType<typeof localCheck>, signal: AbortSignal): Promise<VerifiedBy> {
  const obj = await d.gcs.get(d.gcsBucket, job.name, signal);
  if (!obj) throw new TransferError(`GCS has no ${JSON.stringify(job.name)} right after its multipart upload completed`, true);
  if (generation !== undefined && obj.generation !== generation) throw new TransferError(`GCS holds generation ${obj.generation} of ${JSON.stringify(job.name)}, not ours (${generation}): another writer came in; rechecking`, true);
  const v = verdict(job.entry.size, job.etag, local.digests, { size: obj.size, crc32c: obj.crc32c ?? '' });
  const problem = !v.ok ? v.reason : obj.metadata?.[META_SOURCE_ETAG] !== unquoteEtag(job.entry.etag) ? `GCS metadata ${META_SOURCE_ETAG} is ${String(obj.metadata?.[META_SOURCE_ETAG])}, not the source ETag` : undefined;
  if (problem !== undefined || !v.ok) {
    await d.gcs.delete(d.gcsBucket, job.name, obj.generation, signal);
    throw new TransferError(`${problem ?? 'not verified'}; the bad copy (generation ${obj.generation}) was deleted`, true);
  }
  return v.verifiedBy;
}

/**
 * Completes the upload, retried alone while the upload is still there (its parts are not sent again). A
 * complete whose answer was lost went through, and a retried one answers NoSuchUpload: after a failure the
 * object is looked at, and taken if it is a new generation with our size and CRC32C (verified after). An
 * upload gone otherwise fails the attempt, which starts over.
 */
async function completeUpload(d: CopyDeps, job: ParallelJob, t: MultipartTarget, parts: UploadedPart[], crcBase64: string, budget: RetryBudget, signal: AbortSignal): Promise<string | undefined> {
  const r = await withRetry(
    async (): Promise<{ generation?: string } | { gone: unknown }> => {
      try {
        return { generation: await d.multipart.complete(t, parts, signal) };
      } catch (err) {
        const after = await d.gcs.get(d.gcsBucket, job.name, signal).catch(() => undefined);
        if (after && after.generation !== job.precondition && after.size === job.entry.size && after.crc32c === crcBase64) return { generation: after.generation };
        if (httpStatus(err) === 404) return { gone: err };
        throw err;
      }
    },
    { budget, onRetry: ({ attempt, delayMs, reason }) => d.log.warn('cdnTransfer: retrying multipart complete', { key: job.entry.key, attempt, delay_ms: delayMs, reason }) },
  );
  if ('gone' in r) throw new TransferError(`GCS multipart upload of ${JSON.stringify(job.name)} is gone (NoSuchUpload) and the object is not ours: starting over`, true, { cause: r.gone });
  return r.generation;
}

/**
 * One attempt of a copy in parallel parts (the whole attempt is retried by copyObject; a part alone by
 * copyPart). Throws SerialOnly, before anything is written, for an object the single stream must copy.
 */
export async function copyParallel(d: CopyDeps, job: ParallelJob, budget: RetryBudget, outer: AbortSignal): Promise<ParallelResult> {
  // One signal for this attempt's parts: shutdown, or the first part that gives up, stops them all.
  const ac = new AbortController();
  const stop = (): void => ac.abort(outer.reason);
  outer.addEventListener('abort', stop, { once: true });
  const signal = ac.signal;
  // Every part in flight listens to it twice (its GET and its upload), bounded by the parts in flight: more
  // than Node's default 10, which printed a "possible memory leak" warning on each parallel copy.
  setMaxListeners(0, signal);
  let target: MultipartTarget | undefined;
  let completed = false;
  // The slabs for parts ahead of the in-order MD5 (a single-part source only), taken before the first GET.
  let slabs: Buffer[] = [];
  try {
    if (job.etag.kind === 'md5') slabs = await d.slabs.take(PARALLEL_SLABS, signal);
    const first = await openFirst(d, job, job.plan[0], signal);
    try {
      target = await d.multipart.initiate(d.gcsBucket, job.metadata(first.meta), signal);
    } catch (err) {
      destroyBody(first.body);
      throw err;
    }
    const got = await copyParts(d, job, target, first, slabs, budget, ac);
    const local = localCheck(job, got);
    const pre = verdict(job.entry.size, job.etag, local.digests);
    if (!pre.ok) throw new TransferError(pre.reason, true); // never completed: unverified bytes are never assembled
    // No precondition on complete: the generation our look found must still be the live one.
    const now = await d.gcs.get(d.gcsBucket, job.name, signal);
    if ((now?.generation ?? '0') !== job.precondition) {
      if (now && job.same(now)) return { status: 'written-meanwhile' };
      throw new TransferError(`GCS object ${JSON.stringify(job.name)} changed meanwhile (generation ${now?.generation ?? 'none'}, we looked at ${job.precondition}); rechecking`, true);
    }
    const parts: UploadedPart[] = got.done.map((p, i) => ({ partNumber: i + 1, md5Hex: p.md5Hex }));
    const generation = await completeUpload(d, job, target, parts, local.crcBase64, budget, signal);
    completed = true;
    return { status: 'copied', verifiedBy: await verifyStored(d, job, generation, local, signal) };
  } finally {
    outer.removeEventListener('abort', stop);
    d.slabs.give(slabs);
    // We MUST abort an upload we started and did not complete: its parts are stored (and billed) until then.
    // Not under the copy's signal: on shutdown that is aborted, and the abort must still go out.
    if (target && !completed) {
      const t = target;
      await d.multipart.abort(t, AbortSignal.timeout(30_000)).catch((err: unknown) => d.log.warn('cdnTransfer: could not abort a multipart upload (GCS removes it after its lifecycle rule, if any)', { key: job.entry.key, upload_id: t.uploadId, error: toError(err).message }));
    }
  }
}
