// The hashes computed in the one streaming pass, and the verdict on a copy against what its ETag (see
// common/source/etag.ts) lets us prove. A copy counts only when the strongest check available passes (STYLE rule 6).
import { createHash, type Hash } from 'node:crypto';
import { multipartEtag, type SourceEtag } from '../../common/source/etag.js';
import { crc32c, crc32cBase64 } from './crc32c.js';

/** How an object was verified, as recorded in GCS metadata and the counters. */
export type VerifiedBy = 'md5' | 'multipart-etag' | 'size+crc32c';

export interface Digests {
  bytes: number;
  md5Hex: string;
  md5Base64: string;
  /** Present when a part size was given. */
  multipartEtag?: string;
  /** Present when CRC32C was asked for. */
  crc32cBase64?: string;
}

/** MD5 of the whole object, per-part MD5s at a part size, and CRC32C, all in one pass. */
export class StreamHasher {
  private readonly md5: Hash = createHash('md5');
  private part: Hash | undefined;
  private partFilled = 0;
  private readonly partDigests: Buffer[] = [];
  private crc = 0;
  bytes = 0;

  constructor(private readonly opts: { partBytes?: number; crc32c?: boolean } = {}) {
    if (opts.partBytes !== undefined) this.part = createHash('md5');
  }

  update(buf: Buffer): void {
    this.bytes += buf.length;
    this.md5.update(buf);
    if (this.opts.crc32c) this.crc = crc32c(buf, this.crc);
    const partBytes = this.opts.partBytes;
    if (partBytes === undefined || !this.part) return;
    let off = 0;
    while (off < buf.length) {
      const n = Math.min(partBytes - this.partFilled, buf.length - off);
      this.part.update(buf.subarray(off, off + n));
      this.partFilled += n;
      off += n;
      if (this.partFilled === partBytes) {
        this.partDigests.push(this.part.digest());
        this.part = createHash('md5');
        this.partFilled = 0;
      }
    }
  }

  digest(): Digests {
    const md5 = this.md5.digest();
    const out: Digests = { bytes: this.bytes, md5Hex: md5.toString('hex'), md5Base64: md5.toString('base64') };
    if (this.part) {
      // A trailing partial part is a part; a zero-byte object uploaded as one empty part has one too.
      if (this.partFilled > 0 || this.partDigests.length === 0) this.partDigests.push(this.part.digest());
      out.multipartEtag = multipartEtag(this.partDigests);
    }
    if (this.opts.crc32c) out.crc32cBase64 = crc32cBase64(this.crc);
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
  if (stored?.md5Hash !== undefined && stored.md5Hash !== got.md5Base64) return { ok: false, reason: 'corrupted on transfer: GCS md5Hash differs from the MD5 of the bytes sent' };
  if (stored?.crc32c !== undefined && got.crc32cBase64 !== undefined && stored.crc32c !== got.crc32cBase64) return { ok: false, reason: 'corrupted on transfer: GCS crc32c differs from the CRC32C of the bytes sent' };
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
  return { ok: true, verifiedBy: 'size+crc32c' };
}
