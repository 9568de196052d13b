// The source side: one GET per object through the CDN. The URL is built from our own per-segment
// encoding and sent as a raw path (never re-parsed by WHATWG URL, which would fold `%2E` segments).
import type { Dispatcher } from 'undici';
import { cdnPath } from '../../common/naming.js';
import type { Config } from '../../common/config/schema.js';
import { TransferError } from '../../common/errors.js';
import { archivedAnswer } from '../../common/source/unmigratable.js';
import { HttpStatusError, errorText, header, requestSignal } from './http.js';
import { unquoteEtag } from '../../common/source/etag.js';
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
  return requestPath(base, cdnPath(key, naming), query);
}

const requestPath = (base: CdnBase, keyPath: string, query: string): string => base.basePath + keyPath + (query ? `?${query}` : '');

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
  // for-in, not Object.entries: no array per header on a path run once per object.
  for (const name in res.headers) {
    if (!name.startsWith('x-amz-meta-')) continue;
    const value = res.headers[name];
    if (value !== undefined) userMetadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
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

/** The ETag the GET must carry and the size it must have: the listing's, which the copy is verified against. */
export interface Expected {
  key: string;
  etag: string;
  size: number;
}

/**
 * The CDN answered a ranged resume with the whole object (200): some CDN configurations and proxies drop
 * Range. Its bytes start at 0, so they must never be appended to what was read: the copy starts over.
 */
export class RangeIgnoredError extends TransferError {
  constructor(key: string, startByte: number) {
    super(`CDN answered 200 (the whole object) to a resume of ${JSON.stringify(key)} from byte ${startByte}: starting over from byte 0`, true);
    this.name = 'RangeIgnoredError';
  }
}

/** Drops a response body we will not read (a broken, refused or abandoned download). */
export function destroyBody(body: SourceResponse['body']): void {
  if (body.destroyed) return;
  body.on('error', () => undefined); // destroying an unread undici body emits an AbortError
  body.destroy();
}

/** S3's `<Code>` in an XML error body, if it has one. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]{1,100})<\/Code>/.exec(body)?.[1];
}

/** identity: the bytes must be the object's bytes, never a CDN-compressed rendition of them. Read only (undici copies headers). */
const IDENTITY: Readonly<Record<string, string>> = Object.freeze({ 'accept-encoding': 'identity' });

/**
 * GETs the object, or from `startByte` on (a resumed download: 206 expected). Every answer, first GET or
 * resume, must carry the listing's ETag and length: a CDN edge still holding an overwritten object's old
 * copy (same size, say) serves other bytes under the old ETag, and for an SSE-KMS object only this check
 * tells them apart (its ETag is no MD5 of the bytes). An answer without an ETag, or a listing without
 * one, is taken on size (an S3 origin always sends one; CloudFront passes it through).
 */
export async function openSource(http: Dispatcher, base: CdnBase, want: Expected, naming: Pick<Config, 'replace_key_parts'>, signer: UrlSigner, signal: AbortSignal, startByte = 0, endByte?: number): Promise<SourceResponse> {
  const { key } = want;
  const keyPath = cdnPath(key, naming); // once per GET: the scope check and the request path share it
  // The policy covers the CDN path of s3_root_prefix only; replace_key_parts could map a key elsewhere.
  if (signer.signed && !keyPath.startsWith(signer.scopePath)) {
    throw new TransferError(`the CDN URL of ${JSON.stringify(key)} is outside the signed policy's path ${JSON.stringify(signer.scopePath)}* (replace_key_parts maps it away from s3_root_prefix's CDN path); not requested`, false);
  }
  // A part of the object (endByte, inclusive: a parallel copy's range) or the rest of it from startByte.
  const ranged = startByte > 0 || endByte !== undefined;
  const res = await http.request({
    origin: base.origin,
    path: requestPath(base, keyPath, signer.query()),
    method: 'GET',
    headers: ranged ? { ...IDENTITY, range: `bytes=${startByte}-${endByte ?? ''}` } : IDENTITY,
    signal: requestSignal(signal),
  });
  if (ranged && res.statusCode === 200) {
    destroyBody(res.body);
    throw new RangeIgnoredError(key, startByte);
  }
  if (res.statusCode !== (ranged ? 206 : 200)) throw await refusal(res, key, signer.signed);
  const len = Number(header(res, 'content-length'));
  const etag = header(res, 'etag');
  const wantLen = endByte === undefined ? want.size - startByte : endByte - startByte + 1;
  const problem = !Number.isFinite(len)
    ? 'CDN GET: no Content-Length (a chunked or transcoded response cannot be size-checked up front)'
    : etag !== undefined && unquoteEtag(want.etag) !== '' && unquoteEtag(etag) !== unquoteEtag(want.etag)
      ? `CDN served ETag ${unquoteEtag(etag)} for ${JSON.stringify(key)}, the listing says ${unquoteEtag(want.etag)}: a stale CDN copy, or the object changed since it was listed`
      : len !== wantLen
        ? `CDN serves ${len} bytes from byte ${startByte} (${wantLen} asked) of ${JSON.stringify(key)}, the listing says ${want.size} in all: changed since listed, or a stale CDN cache`
        : undefined;
  if (problem) {
    destroyBody(res.body);
    throw new TransferError(problem, true);
  }
  return { meta: sourceMeta(res), contentLength: len, etag, body: res.body };
}

/**
 * The error for a refused GET, naming who refused and why. A 403 is CloudFront's own (a signed URL it does
 * not accept: `Server: CloudFront`) or the origin's, passed through (`Server: AmazonS3`): S3's code says
 * what is wrong (AccessDenied: the origin access policy; InvalidObjectState: an archived object), and a
 * signing-key hint there would send the operator the wrong way.
 */
async function refusal(res: Dispatcher.ResponseData, key: string, signed: boolean): Promise<Error> {
  const detail = await errorText(res.body);
  // S3's answer for an archived object, passed through by CloudFront: its own outcome, never retried.
  const archived = archivedAnswer(res.statusCode, detail);
  if (archived) return new TransferError(archived, false);
  const code = errorCode(detail);
  const edge = /cloudfront/i.test(header(res, 'server') ?? '');
  if (res.statusCode === 403 && signed && edge) {
    return new TransferError(`CDN refused the signed URL for ${JSON.stringify(key)} (HTTP 403 ${detail}): check url_signer_key_pair_id and the signing key match a trusted key of the distribution`, false);
  }
  // The key is named by the caller; the URL (with its signature) is never part of a message.
  return new HttpStatusError(res.statusCode, `CDN GET${code ? ` (${edge ? 'CloudFront' : 'origin'} ${code})` : ''}`, detail, code);
}
