// The destination side of a copy in parallel parts: GCS's XML API multipart upload (initiate, upload part,
// complete, abort), over the same undici pool and credentials as the JSON API client. Chosen over parallel
// composite uploads (parts as objects, then compose): nothing but the upload itself exists until the
// complete, an abort removes every part at once, and no temporary objects can be left under names a
// listing shows. Each call is one try: the copy's retry budget retries around it (no nested retries).
// GCS refuses preconditions on XML multipart requests (400 NotImplemented), so the caller checks the
// destination's generation through the JSON API right before complete and verifies the object after.
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { TransferError } from '../../common/errors.js';
import { HttpStatusError, errorText, header } from './http.js';
import { errorCode } from './source.js';
import { GcsHttp, type UploadMetadata } from './gcsUpload.js';

export interface UploadedPart {
  partNumber: number;
  /** The part's MD5 as GCS answered it (its ETag, unquoted hex). */
  md5Hex: string;
  /** GCS's CRC32C of the stored part (base64), from `x-goog-hash`. */
  crc32c?: string;
}

export interface MultipartTarget {
  bucket: string;
  name: string;
  uploadId: string;
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The object's metadata as XML API request headers (custom metadata as x-goog-meta-*). */
export function initiateHeaders(meta: UploadMetadata): Record<string, string> {
  const h: Record<string, string> = { 'content-type': meta.contentType ?? 'application/octet-stream' };
  if (meta.cacheControl !== undefined) h['cache-control'] = meta.cacheControl;
  if (meta.contentDisposition !== undefined) h['content-disposition'] = meta.contentDisposition;
  if (meta.contentLanguage !== undefined) h['content-language'] = meta.contentLanguage;
  if (meta.contentEncoding !== undefined) h['content-encoding'] = meta.contentEncoding;
  if (meta.storageClass !== undefined) h['x-goog-storage-class'] = meta.storageClass;
  for (const [k, v] of Object.entries(meta.metadata)) h[`x-goog-meta-${k.toLowerCase()}`] = v;
  return h;
}

export class GcsMultipart extends GcsHttp {
  /** Path-style XML API path; each name segment encoded once, so `%`, `+`, `//` and unicode arrive intact. */
  private path(bucket: string, name: string, query: string): string {
    return `${this.basePath}/${encodeURIComponent(bucket)}/${name.split('/').map(encodeURIComponent).join('/')}?${query}`;
  }

  private async refused(res: Dispatcher.ResponseData, what: string): Promise<never> {
    const detail = await errorText(res.body);
    throw new HttpStatusError(res.statusCode, `GCS ${what}`, detail, errorCode(detail));
  }

  /** Starts an upload whose completed object gets `meta` (content headers, storage class, custom metadata). */
  async initiate(bucket: string, meta: UploadMetadata, signal: AbortSignal): Promise<MultipartTarget> {
    const res = await this.request({ path: this.path(bucket, meta.name, 'uploads'), method: 'POST', headers: { ...initiateHeaders(meta), 'content-length': '0' }, signal });
    if (res.statusCode !== 200) return this.refused(res, 'multipart initiate');
    const id = /<UploadId>([^<]+)<\/UploadId>/.exec(await res.body.text())?.[1];
    if (!id) throw new TransferError('GCS multipart initiate: no UploadId in the answer', true);
    return { bucket, name: meta.name, uploadId: id };
  }

  /** Uploads one part from a stream of exactly `sizeBytes`; answers what GCS says it stored. */
  async uploadPart(t: MultipartTarget, partNumber: number, sizeBytes: number, body: AsyncIterable<Buffer>, signal: AbortSignal): Promise<UploadedPart> {
    const res = await this.request({
      path: this.path(t.bucket, t.name, `partNumber=${partNumber}&uploadId=${encodeURIComponent(t.uploadId)}`),
      method: 'PUT',
      headers: { 'content-length': String(sizeBytes), 'content-type': 'application/octet-stream' },
      body: Readable.from(body, { objectMode: false }),
      signal,
    });
    if (res.statusCode !== 200) return this.refused(res, `multipart part ${partNumber}`);
    await res.body.dump();
    const etag = header(res, 'etag')?.replace(/"/g, '').toLowerCase();
    if (!etag || !/^[0-9a-f]{32}$/.test(etag)) throw new TransferError(`GCS multipart part ${partNumber}: answered no MD5 ETag (${String(etag)})`, true);
    const crc32c = /crc32c=([^,\s]+)/.exec(header(res, 'x-goog-hash') ?? '')?.[1];
    return { partNumber, md5Hex: etag, crc32c };
  }

  /** Assembles the parts (ascending, each named by the ETag GCS answered for it); answers the new generation. */
  async complete(t: MultipartTarget, parts: readonly UploadedPart[], signal: AbortSignal): Promise<string | undefined> {
    const body = `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>"${xmlText(p.md5Hex)}"</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const res = await this.request({ path: this.path(t.bucket, t.name, `uploadId=${encodeURIComponent(t.uploadId)}`), method: 'POST', headers: { 'content-type': 'application/xml' }, body, signal });
    if (res.statusCode !== 200) return this.refused(res, 'multipart complete');
    // GCS may answer 200 and then an error in the body (S3's documented behaviour for a failed complete).
    const text = await res.body.text();
    if (/<Error>/.test(text)) throw new HttpStatusError(500, 'GCS multipart complete', text.slice(0, 300), errorCode(text));
    return header(res, 'x-goog-generation');
  }

  /** Removes the upload and every part of it. Gone already (completed, aborted, expired) is fine. */
  async abort(t: MultipartTarget, signal: AbortSignal): Promise<void> {
    const res = await this.request({ path: this.path(t.bucket, t.name, `uploadId=${encodeURIComponent(t.uploadId)}`), method: 'DELETE', headers: { 'content-length': '0' }, signal });
    if (res.statusCode === 204 || res.statusCode === 200 || res.statusCode === 404) return void (await res.body.dump());
    return this.refused(res, 'multipart abort');
  }
}
