// The source side: one GET per object through the CDN. The URL is built from our own per-segment
// encoding and sent as a raw path (never re-parsed by WHATWG URL, which would fold `%2E` segments).
import type { Agent, Dispatcher } from 'undici';
import { cdnPath } from '../../common/naming.js';
import type { Config } from '../../common/config/schema.js';
import { TransferError } from '../../common/errors.js';
import { archivedAnswer } from '../../common/source/unmigratable.js';
import { HttpStatusError, errorText, header } from './http.js';
import type { UrlSigner } from './signer.js';

export interface CdnBase {
  origin: string;
  /** The path of cloudfront_url_host_pre, ending in '/'. */
  basePath: string;
}

export function cdnBase(hostPre: string): CdnBase {
  const u = new URL(hostPre);
  const basePath = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
  return { origin: u.origin, basePath };
}

/** The request path (with the signed query, if any) for one key. */
export function cdnRequestPath(base: CdnBase, key: string, naming: Pick<Config, 'replace_key_parts'>, query: string): string {
  return base.basePath + cdnPath(key, naming) + (query ? `?${query}` : '');
}

/** Headers carried over to GCS, as the origin sent them. */
export interface SourceMeta {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  contentEncoding?: string;
  /** x-amz-meta-* without the prefix. */
  userMetadata: Record<string, string>;
  /** The origin says the object is SSE-KMS or SSE-C encrypted: its ETag is not an MD5. */
  encrypted: boolean;
  lastModified?: string;
}

export interface SourceResponse {
  meta: SourceMeta;
  contentLength: number;
  etag?: string;
  body: Dispatcher.ResponseData['body'];
}

export function sourceMeta(res: Dispatcher.ResponseData): SourceMeta {
  const userMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined) userMetadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  const sse = header(res, 'x-amz-server-side-encryption');
  return {
    contentType: header(res, 'content-type'),
    cacheControl: header(res, 'cache-control'),
    contentDisposition: header(res, 'content-disposition'),
    contentLanguage: header(res, 'content-language'),
    contentEncoding: header(res, 'content-encoding'),
    userMetadata,
    encrypted: sse === 'aws:kms' || sse === 'aws:kms:dsse' || header(res, 'x-amz-server-side-encryption-customer-algorithm') !== undefined,
    lastModified: header(res, 'last-modified'),
  };
}

/**
 * GETs the object, or from `startByte` on (a resumed download: 206 expected). The caller checks
 * `contentLength` and, when resuming, `etag` against the listing.
 */
export async function openSource(http: Agent, base: CdnBase, key: string, naming: Pick<Config, 'replace_key_parts'>, signer: UrlSigner, signal: AbortSignal, startByte = 0): Promise<SourceResponse> {
  const res = await http.request({
    origin: base.origin,
    path: cdnRequestPath(base, key, naming, signer.query()),
    method: 'GET',
    // identity: the bytes must be the object's bytes, never a CDN-compressed rendition of them.
    headers: { 'accept-encoding': 'identity', ...(startByte > 0 ? { range: `bytes=${startByte}-` } : {}) },
    signal,
  });
  if (res.statusCode !== (startByte > 0 ? 206 : 200)) {
    const detail = await errorText(res.body);
    // S3's answer for an archived object, passed through by CloudFront: its own outcome, never retried.
    const archived = archivedAnswer(res.statusCode, detail);
    if (archived) throw new TransferError(archived, false);
    if (res.statusCode === 403 && signer.signed) {
      throw new TransferError(`CDN refused the signed URL for ${JSON.stringify(key)} (HTTP 403 ${detail}): check url_signer_key_pair_id and the signing key match a trusted key of the distribution`, false);
    }
    // The key is named by the caller; the URL (with its signature) is never part of a message.
    throw new HttpStatusError(res.statusCode, 'CDN GET', detail);
  }
  const len = Number(header(res, 'content-length'));
  if (!Number.isFinite(len)) {
    res.body.destroy();
    throw new TransferError('CDN GET: no Content-Length (a chunked or transcoded response cannot be size-checked up front)', true);
  }
  return { meta: sourceMeta(res), contentLength: len, etag: header(res, 'etag'), body: res.body };
}
