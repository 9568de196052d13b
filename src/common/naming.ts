// One mapping from an S3 key to its GCS object name and its CDN URL, used by every mode, so transfer,
// sync check and rsync always agree on names.
import type { Config } from './config/schema.js';

type NamingConfig = Pick<Config, 's3_root_prefix' | 'gcs_root_prefix' | 'cloudfront_url_host_pre' | 'replace_key_parts'>;

/** `s3_root_prefix` replaced by `gcs_root_prefix`; a key outside the root is a caller bug, never guessed. */
export function gcsObjectName(s3Key: string, c: Pick<NamingConfig, 's3_root_prefix' | 'gcs_root_prefix'>): string {
  if (!s3Key.startsWith(c.s3_root_prefix)) {
    throw new Error(`key ${JSON.stringify(s3Key)} is outside s3_root_prefix ${JSON.stringify(c.s3_root_prefix)}`);
  }
  return c.gcs_root_prefix + s3Key.slice(c.s3_root_prefix.length);
}

/** The GCS prefix that mirrors an S3 prefix (a subfolder's dir_key). */
export function gcsPrefix(s3Prefix: string, c: Pick<NamingConfig, 's3_root_prefix' | 'gcs_root_prefix'>): string {
  return gcsObjectName(s3Prefix, c);
}

/**
 * Percent-encodes one path segment so the CDN (and S3 behind it) decodes it back to exactly these bytes.
 * Beyond encodeURIComponent: `.`/`..` segments are encoded so no URL parser folds them away, and
 * `!'()*` are encoded as RFC 3986 reserves them.
 */
export function encodeSegment(segment: string): string {
  const enc = encodeURIComponent(segment).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return enc === '.' ? '%2E' : enc === '..' ? '%2E%2E' : enc;
}

/** The key after `replace_key_parts` substitutions, in the order given (the reference's semantics). */
export function cdnKey(s3Key: string, c: Pick<NamingConfig, 'replace_key_parts'>): string {
  let k = s3Key;
  const parts = c.replace_key_parts;
  if (parts) for (const from in parts) k = k.split(from).join(parts[from]);
  return k;
}

/**
 * A key made only of characters every segment keeps as they are (RFC 3986 unreserved, and `/` between
 * segments), with no `.`/`..` segment: its path is itself. Most keys are; testing that is a fraction of
 * encoding them segment by segment, once per object (bench: ~4 us of CPU per object).
 */
const KEPT_AS_IS = /^[A-Za-z0-9\-_.~/]*$/;
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;

/** The encoded path part appended to `cloudfront_url_host_pre` (every segment encoded, `/` kept). */
export function cdnPath(s3Key: string, c: Pick<NamingConfig, 'replace_key_parts'>): string {
  const k = cdnKey(s3Key, c);
  if (KEPT_AS_IS.test(k) && !DOT_SEGMENT.test(k)) return k;
  return k.split('/').map(encodeSegment).join('/');
}

/**
 * The full CDN URL. Note for HTTP clients: pass it on without re-parsing through WHATWG URL, which folds
 * `%2E` segments; undici's `request({ path })` sends it as is.
 */
export function cdnUrl(s3Key: string, c: NamingConfig): string {
  if (!c.cloudfront_url_host_pre) throw new Error('cloudfront_url_host_pre is not configured');
  const base = c.cloudfront_url_host_pre.endsWith('/') ? c.cloudfront_url_host_pre : `${c.cloudfront_url_host_pre}/`;
  return base + cdnPath(s3Key, c);
}

/** The inverse of cdnPath (before replace_key_parts), as the CDN and S3 decode a path. */
export function decodeCdnPath(path: string): string {
  return path.split('/').map(decodeURIComponent).join('/');
}
