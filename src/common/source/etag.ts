// S3 ETags: the one way to unquote them, and what an ETag lets us prove about a copy. Messages, GCS
// metadata (ott-source-etag) and comparisons all use the unquoted form.
import { createHash } from 'node:crypto';

export type SourceEtag =
  /** Single-part upload: the ETag is the object's MD5, known before the first byte. */
  | { kind: 'md5'; md5Hex: string }
  /** Multipart upload: md5(concat(part md5s))-N; provable once the part sizes are known (worker/copy/s3Head.ts). */
  | { kind: 'multipart'; digestHex: string; parts: number }
  /** SSE-KMS / SSE-C or anything else: not an MD5 of anything we can compute. */
  | { kind: 'opaque'; etag: string };

const QUOTE = 34; // "

/**
 * An ETag as S3 lists it or an HTTP origin sends it, without its quoting: a weak-validator prefix `W/`
 * is dropped, then every double quote at either end (`"abc"`, `""abc""` from a proxy that quotes again,
 * and a lone `"abc`). Anything else is kept as given, case included. A value that is only quotes comes
 * back empty: callers that need an ETag treat that as none. No regex: the publisher calls this per key.
 */
export function unquoteEtag(etag: string): string {
  const n = etag.length;
  // S3's own `"hex"` (every key the publisher lists): one slice.
  if (n > 2 && etag.charCodeAt(0) === QUOTE && etag.charCodeAt(n - 1) === QUOTE && etag.charCodeAt(1) !== QUOTE && etag.charCodeAt(n - 2) !== QUOTE) return etag.slice(1, -1);
  let start = etag.startsWith('W/') ? 2 : 0;
  let end = etag.length;
  while (start < end && etag.charCodeAt(start) === QUOTE) start++;
  while (end > start && etag.charCodeAt(end - 1) === QUOTE) end--;
  return start === 0 && end === etag.length ? etag : etag.slice(start, end);
}

/**
 * Parses a listing ETag. `encrypted` (the origin's x-amz-server-side-encryption is aws:kms, or SSE-C)
 * makes any ETag opaque: SSE-KMS ETags look like MD5s but are not.
 */
export function parseEtag(raw: string, encrypted = false): SourceEtag {
  const etag = unquoteEtag(raw).toLowerCase();
  if (!encrypted) {
    if (/^[0-9a-f]{32}$/.test(etag)) return { kind: 'md5', md5Hex: etag };
    const m = /^([0-9a-f]{32})-(\d{1,5})$/.exec(etag);
    if (m && Number(m[2]) >= 1 && Number(m[2]) <= 10_000) return { kind: 'multipart', digestHex: m[1], parts: Number(m[2]) };
  }
  return { kind: 'opaque', etag: unquoteEtag(raw) };
}

/** The S3 multipart ETag of the given part digests. */
export function multipartEtag(partDigests: Buffer[]): string {
  return `${createHash('md5').update(Buffer.concat(partDigests)).digest('hex')}-${partDigests.length}`;
}
