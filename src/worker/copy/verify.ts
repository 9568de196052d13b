// The hashes computed in the one streaming pass, and the verdict on a copy against what its ETag (see
// common/source/etag.ts) lets us prove. A copy counts only when the strongest check available passes (STYLE rule 6).
import { createHash, type Hash } from 'node:crypto';
import type { Crc32, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { sdk } from '../../common/clients.js';
import { multipartEtag, type SourceEtag } from '../../common/source/etag.js';
import { crc32c, crc32cBase64 } from './crc32c.js';
import type { SourceChecksum } from './s3Head.js';

/**
 * How an object was verified, as recorded in GCS metadata (`ott-verified-by`) and the summary:
 * `md5` (single-part ETag), `multipart-etag` (md5 of the exact parts' md5s), `crc` (S3's full-object
 * checksum, for ETags that are no MD5: SSE-KMS), `size-only` (none of these: size, and CRC32C from our
 * read to GCS's disk, but nothing ties the bytes to S3's; counted in `size_only_objects`).
 */
export type VerifiedBy = 'md5' | 'multipart-etag' | 'crc' | 'size-only';
export const VERIFIED_BY: readonly VerifiedBy[] = ['md5', 'multipart-etag', 'crc', 'size-only'];
/** What an earlier version recorded for `size-only`. */
export const LEGACY_SIZE_ONLY = 'size+crc32c';

export interface Digests {
  bytes: number;
  /** The whole object's MD5; absent when not computed (a multipart source: its part MD5s verify it). */
  md5Hex?: string;
  md5Base64?: string;
  /** Present when a part size was given. */
  multipartEtag?: string;
  /** Present when CRC32C was asked for. */
  crc32cBase64?: string;
  /** S3's checksum to compare with and ours of the same algorithm (base64), when one was given. */
  checksum?: { want: SourceChecksum; got: string };
}

/** CRC64NVME and CRC32 as the AWS SDK computes them (S3's own definitions); CRC32C is ours (also GCS's). */
function sdkChecksum(algorithm: SourceChecksum['algorithm']): Crc64Nvme | Crc32 | undefined {
  return algorithm === 'CRC64NVME' ? new (sdk.checksums().Crc64Nvme)() : algorithm === 'CRC32' ? new (sdk.checksums().Crc32)() : undefined;
}

export interface HashOptions {
  /** The multipart upload's part sizes, in order (exact, from S3: they need not be uniform). */
  partSizes?: readonly number[];
  crc32c?: boolean;
  /**
   * The whole object's MD5 (default true). A multipart source's ETag is checked by its part MD5s; its whole
   * MD5 would only tie our read to GCS's copy, which the (native, ~20x cheaper) CRC32C does: ask for that.
   */
  wholeMd5?: boolean;
  /** S3's full-object checksum: the same algorithm is computed over the bytes. */
  checksum?: SourceChecksum;
}

/** MD5 of the whole object, per-part MD5s at the parts' sizes, CRC32C and S3's checksum, all in one pass. */
export class StreamHasher {
  private readonly md5: Hash | undefined;
  private part: Hash | undefined;
  private partIndex = 0;
  private partFilled = 0;
  private readonly partDigests: Buffer[] = [];
  private crc = 0;
  private readonly sdkCrc: Crc64Nvme | Crc32 | undefined;
  bytes = 0;

  constructor(private readonly opts: HashOptions = {}) {
    if (opts.wholeMd5 !== false) this.md5 = createHash('md5');
    if (opts.partSizes !== undefined) this.part = createHash('md5');
    if (opts.checksum) this.sdkCrc = sdkChecksum(opts.checksum.algorithm);
  }

  private get wantCrc32c(): boolean {
    return this.opts.crc32c === true || this.opts.checksum?.algorithm === 'CRC32C';
  }

  update(buf: Buffer): void {
    this.bytes += buf.length;
    this.md5?.update(buf);
    if (this.wantCrc32c) this.crc = crc32c(buf, this.crc);
    this.sdkCrc?.update(buf);
    const sizes = this.opts.partSizes;
    if (sizes === undefined || !this.part) return;
    let off = 0;
    while (off < buf.length) {
      // Past the last part (more bytes than the parts add up to): it all goes to one more part, and the
      // size check fails the copy anyway.
      const partBytes = sizes[this.partIndex] ?? Infinity;
      const n = Math.min(partBytes - this.partFilled, buf.length - off);
      this.part.update(buf.subarray(off, off + n));
      this.partFilled += n;
      off += n;
      if (this.partFilled === partBytes) {
        this.partDigests.push(this.part.digest());
        this.part = createHash('md5');
        this.partFilled = 0;
        this.partIndex++;
      }
    }
  }

  async digest(): Promise<Digests> {
    const md5 = this.md5?.digest();
    const out: Digests = { bytes: this.bytes, md5Hex: md5?.toString('hex'), md5Base64: md5?.toString('base64') };
    if (this.part) {
      // A trailing partial part is a part; a zero-byte object uploaded as one empty part has one too.
      if (this.partFilled > 0 || this.partDigests.length === 0) this.partDigests.push(this.part.digest());
      out.multipartEtag = multipartEtag(this.partDigests);
    }
    if (this.wantCrc32c) out.crc32cBase64 = crc32cBase64(this.crc);
    const want = this.opts.checksum;
    if (want) out.checksum = { want, got: this.sdkCrc ? Buffer.from(await this.sdkCrc.digest()).toString('base64') : out.crc32cBase64! };
    return out;
  }
}

export type Verdict = { ok: true; verifiedBy: VerifiedBy } | { ok: false; reason: string };

/**
 * The verdict on what we read from the CDN (`got`) against the listing (size, ETag) and, when GCS
 * answered with its own hashes, against what GCS stored. GCS's md5Hash/crc32c closes the loop from our
 * read to GCS's disk; the ETag check closes it from S3 to our read. Without `stored` it is the local
 * verdict taken before the final upload request (an opaque ETag can only pass on size then).
 */
export function verdict(expectedBytes: number, etag: SourceEtag, got: Digests, stored?: { md5Hash?: string; crc32c?: string; size?: number }): Verdict {
  if (got.bytes !== expectedBytes) return { ok: false, reason: `corrupted on transfer: sizes differ (read ${got.bytes} bytes, expected ${expectedBytes})` };
  if (stored?.size !== undefined && stored.size !== expectedBytes) return { ok: false, reason: `corrupted on transfer: GCS stored ${stored.size} bytes, expected ${expectedBytes}` };
  if (stored?.md5Hash !== undefined && got.md5Base64 !== undefined && stored.md5Hash !== got.md5Base64) return { ok: false, reason: 'corrupted on transfer: GCS md5Hash differs from the MD5 of the bytes sent' };
  if (stored?.crc32c !== undefined && got.crc32cBase64 !== undefined && stored.crc32c !== got.crc32cBase64) return { ok: false, reason: 'corrupted on transfer: GCS crc32c differs from the CRC32C of the bytes sent' };
  // Without our whole MD5 (a multipart source), GCS's crc32c is what ties its copy to the bytes we read.
  if (stored && got.md5Base64 === undefined && !(stored.crc32c !== undefined && got.crc32cBase64 !== undefined)) {
    return { ok: false, reason: 'GCS returned no hash we computed too (md5Hash, crc32c): cannot verify the stored copy against the bytes sent' };
  }
  if (etag.kind === 'md5') {
    if (got.md5Hex !== etag.md5Hex) return { ok: false, reason: `corrupted on transfer: hashes differ (MD5 ${got.md5Hex}, ETag ${etag.md5Hex})` };
    return { ok: true, verifiedBy: 'md5' };
  }
  if (etag.kind === 'multipart') {
    const want = `${etag.digestHex}-${etag.parts}`;
    if (got.multipartEtag !== want) return { ok: false, reason: `corrupted on transfer: hashes differ (multipart ETag ${got.multipartEtag ?? 'not computed'}, expected ${want})` };
    return { ok: true, verifiedBy: 'multipart-etag' };
  }
  if (stored && stored.md5Hash === undefined && stored.crc32c === undefined) return { ok: false, reason: 'GCS returned neither md5Hash nor crc32c: cannot verify an opaque-ETag object end to end' };
  if (got.checksum) {
    const { want, got: ours } = got.checksum;
    if (ours !== want.base64) return { ok: false, reason: `corrupted on transfer: hashes differ (${want.algorithm} ${ours}, S3 says ${want.base64})` };
    return { ok: true, verifiedBy: 'crc' };
  }
  return { ok: true, verifiedBy: 'size-only' };
}
