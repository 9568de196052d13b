// The one decision "does GCS already hold this S3 object?", shared by every path that asks it: the copy
// path (skip or copy), the per-object diff (syncCheck --deep, the rsync cdn engine) and the publisher's
// delta pass. Two answers to one question let an object be "different" to the check and "already there"
// to the copy, so the check kept finding what the repair kept skipping; one function cannot disagree
// with itself.
import type { ObjectEntry } from '../../common/messages.js';
import { parseEtag, unquoteEtag } from '../../common/source/etag.js';

/** GCS custom metadata keys we own (beside the carried-over x-amz-meta-* ones). */
export const META_SOURCE_ETAG = 'ott-source-etag';
export const META_SOURCE_LAST_MODIFIED = 'ott-source-last-modified';
export const META_VERIFIED_BY = 'ott-verified-by';

/** What proved a GCS object the same as its source: GCS's MD5 (`same-md5`) or our recorded source ETag. */
export type SameBy = 'same-md5' | 'same-source-etag';

/** What the decision reads of a GCS object (a listing entry or an object resource). */
export interface HeldObject {
  size: number;
  /** base64; absent for composite objects. */
  md5Hash?: string;
  metadata?: Record<string, string>;
}

export type SameVerdict = { same: true; by: SameBy } | { same: false; why: string };

const hexToBase64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/**
 * Same size, then the strongest evidence the two sides share, rclone-style with the reason either way:
 * - a single-part ETag is the object's MD5, and GCS's md5Hash is GCS's own hash of the bytes it holds:
 *   they decide, whatever our metadata says (it could sit on a bad copy whose delete failed, or be stale:
 *   right bytes under an old `ott-source-etag` are the same object). Not for a copy our path verified
 *   other than by MD5 (SSE-KMS: the ETag looks like an MD5 and is none);
 * - otherwise the source ETag a verified copy recorded (`ott-source-etag`);
 * - with neither, the size alone proves nothing: not the same, so the copy path copies it (verified,
 *   recorded) and the next look settles it.
 */
export function compareWithGcs(entry: ObjectEntry, held: HeldObject): SameVerdict {
  if (held.size !== entry.size) return { same: false, why: `sizes differ (S3 ${entry.size}, GCS ${held.size})` };
  const etag = parseEtag(entry.etag);
  const recorded = held.metadata?.[META_SOURCE_ETAG];
  // Our copy of an MD5-looking ETag verified any other way than by MD5 (size + CRC32C, S3's checksum,
  // size only) says the ETag is no MD5 (SSE-KMS): GCS's md5Hash cannot be compared with it.
  const verifiedBy = held.metadata?.[META_VERIFIED_BY];
  const etagNoMd5 = verifiedBy !== undefined && verifiedBy !== 'md5';
  if (etag.kind === 'md5' && held.md5Hash !== undefined && !etagNoMd5) {
    if (held.md5Hash === hexToBase64(etag.md5Hex)) return { same: true, by: 'same-md5' };
    return { same: false, why: `hashes differ (S3 ETag ${etag.md5Hex}, GCS MD5 ${Buffer.from(held.md5Hash, 'base64').toString('hex')})` };
  }
  const source = unquoteEtag(entry.etag);
  if (recorded === source) return { same: true, by: 'same-source-etag' };
  if (recorded !== undefined) return { same: false, why: `source ETag differs (S3 ${source}, copied from ${recorded})` };
  return { same: false, why: `no evidence beyond the size (${etag.kind} ETag, no GCS MD5 to compare, no recorded source ETag)` };
}
