// What the copy path asks S3's own API about an object: metadata only, never bytes (those come through the
// CDN). Two facts the listing and a CloudFront GET cannot give:
// - the size of each part of a multipart upload, so its ETag md5(part md5s)-N is verified exactly, whatever
//   sizes the uploader chose (HeadObject with PartNumber answers that part's Content-Length);
// - the full-object checksum S3 keeps (CRC64NVME by default for objects written since late 2024; CRC32C,
//   CRC32 when the uploader chose one), for objects whose ETag is no MD5 (SSE-KMS). A SHA1/SHA256 full-object
//   checksum (single-part uploads that asked for one) is not used: rare, and CRC64NVME covers the default.
// Why S3's API and not the CDN: S3 answers checksums only to `x-amz-checksum-mode: ENABLED`, a request header
// CloudFront forwards only when the distribution's origin request policy lists it, and it caches the answer
// under whatever headers the first viewer sent; `?partNumber=` likewise needs the query string forwarded.
// Neither can be assumed of a distribution we do not own, and the workers already hold S3 read credentials.
// A HeadObject costs as much as a GET request, so they are asked only where the ETag alone proves nothing.
// Not GetObjectAttributes: it would list up to 1,000 part sizes a call, but only for uploads that named a
// checksum algorithm, and it needs its own IAM permission (s3:GetObjectAttributes); HeadObject needs the
// s3:GetObject the workers' key has, and answers for every multipart object.
// Each call is one try: the copy's retry budget retries the attempt around it (no nested retries).
import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { sdk } from '../../common/clients.js';
import { TransferError } from '../../common/errors.js';
import { unquoteEtag } from '../../common/source/etag.js';
import { createLimiter } from '../../common/limit.js';

/** HeadObject PartNumber requests in flight for one object. */
const PART_HEADS_IN_FLIGHT = 8;

export interface S3Head {
  s3: () => S3Client;
  bucket: string;
}

/** A full-object checksum as S3 reports it (base64 of the big-endian digest). */
export interface SourceChecksum {
  algorithm: 'CRC64NVME' | 'CRC32C' | 'CRC32';
  base64: string;
}

/** S3 encrypts the object with KMS (or the customer's key): its ETag is no MD5 of the bytes. */
export function encryptedByHead(h: Pick<HeadObjectCommandOutput, 'ServerSideEncryption' | 'SSECustomerAlgorithm'>): boolean {
  return h.ServerSideEncryption === 'aws:kms' || h.ServerSideEncryption === 'aws:kms:dsse' || h.SSECustomerAlgorithm !== undefined;
}

function sameVersion(h: HeadObjectCommandOutput, key: string, etag: string): void {
  if (h.ETag !== undefined && unquoteEtag(h.ETag) !== unquoteEtag(etag)) {
    throw new TransferError(`S3 now has ETag ${unquoteEtag(h.ETag)} for ${JSON.stringify(key)}, the listing says ${unquoteEtag(etag)}: the object changed since it was listed`, true);
  }
}

export type PartLayout = { encrypted: true } | { encrypted: false; partSizes: number[] };

/**
 * The exact size of every part of a multipart object (`parts` from its ETag), or that S3 encrypts it with
 * KMS (its ETag then proves nothing and the parts are not needed). Part 1's answer says both and the part
 * count; parts 2..N-1 are asked in parallel (bounded); the last is what remains of the size.
 */
export async function partLayout(h: S3Head, key: string, etag: string, sizeBytes: number, parts: number, signal: AbortSignal): Promise<PartLayout> {
  const head = (n: number): Promise<HeadObjectCommandOutput> => h.s3().send(new (sdk.s3().HeadObjectCommand)({ Bucket: h.bucket, Key: key, PartNumber: n }), { abortSignal: signal });
  const first = await head(1);
  sameVersion(first, key, etag);
  if (encryptedByHead(first)) return { encrypted: true };
  if (first.PartsCount !== undefined && first.PartsCount !== parts) throw new TransferError(`S3 says ${first.PartsCount} parts, the ETag says ${parts}: the object changed since it was listed`, true);
  const sizes = [Number(first.ContentLength)];
  const limiter = createLimiter(PART_HEADS_IN_FLIGHT);
  const middle = await Promise.all(
    Array.from({ length: Math.max(0, parts - 2) }, (_, i) =>
      limiter.run(async () => {
        const r = await head(i + 2);
        sameVersion(r, key, etag);
        return Number(r.ContentLength);
      }),
    ),
  );
  sizes.push(...middle);
  if (parts > 1) sizes.push(sizeBytes - sizes.reduce((a, b) => a + b, 0));
  if (sizes.some((n) => !Number.isSafeInteger(n) || n < 0) || sizes.reduce((a, b) => a + b, 0) !== sizeBytes) {
    throw new TransferError(`S3's part sizes of ${JSON.stringify(key)} (${sizes.slice(0, 5).join(', ')}${sizes.length > 5 ? ', ...' : ''}) do not add up to the listed ${sizeBytes} bytes: the object changed since it was listed`, true);
  }
  return { encrypted: false, partSizes: sizes };
}

const ALGORITHMS = [
  ['CRC64NVME', 'ChecksumCRC64NVME'],
  ['CRC32C', 'ChecksumCRC32C'],
  ['CRC32', 'ChecksumCRC32'],
] as const;

/**
 * The full-object checksum S3 holds for the object, if any. A COMPOSITE checksum (a checksum of part
 * checksums, `...-N`) is not a function of the bytes alone and is not returned.
 */
export async function fullObjectChecksum(h: S3Head, key: string, etag: string, signal: AbortSignal): Promise<SourceChecksum | undefined> {
  const r = await h.s3().send(new (sdk.s3().HeadObjectCommand)({ Bucket: h.bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal: signal });
  sameVersion(r, key, etag);
  if (r.ChecksumType === 'COMPOSITE') return undefined;
  for (const [algorithm, field] of ALGORITHMS) {
    const v = r[field];
    if (v && !v.includes('-')) return { algorithm, base64: v };
  }
  return undefined;
}
