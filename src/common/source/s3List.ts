// The one S3 lister: ListObjectsV2 page by page under a prefix, each page one retried call (our retries
// only: the S3 client's own are off). Two views: every object recursively (the publisher's objects list,
// syncCheck and rsync), or the subfolders one level down (Delimiter '/', the dump). Both stream: a prefix
// of millions of keys is never held whole. Entries come in S3's order, UTF-8 byte order, which the
// merge in worker/diff.ts relies on (and checks).
// Every page is asked with EncodingType=url: S3 keys may hold characters XML 1.0 cannot carry (\x01..\x1f
// but tab/LF/CR, which XML parsers fold anyway), and without it such a key makes the page unparseable or comes
// back changed. The SDK does not decode what S3 encoded: pages() does, so callers only ever see real keys.
import type { ListObjectsV2CommandInput, ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { ObjectEntry } from '../messages.js';
import { withRetry, type RetryLimits } from '../retry.js';
import { unquoteEtag } from './etag.js';

/** Lists the objects under a prefix; the benchmark swaps in a fixture to measure publishing alone. */
export type ObjectLister = (prefix: string, signal: AbortSignal) => AsyncIterable<ObjectEntry>;

/** A value of a listing asked with EncodingType=url: S3 encodes as a form does (space as `+`, `+` as `%2B`). */
export function decodeListed(v: string): string {
  return decodeURIComponent(v.replace(/\+/g, ' '));
}

/** The page with its keys and prefixes decoded, whether S3 encoded them or not (it says which). */
function decodedPage(page: ListObjectsV2CommandOutput): ListObjectsV2CommandOutput {
  if (page.EncodingType !== 'url') return page;
  return {
    ...page,
    Contents: page.Contents?.map((o) => (o.Key === undefined ? o : { ...o, Key: decodeListed(o.Key) })),
    CommonPrefixes: page.CommonPrefixes?.map((p) => (p.Prefix === undefined ? p : { ...p, Prefix: decodeListed(p.Prefix) })),
  };
}

async function* pages(s3: S3Client, bucket: string, input: Pick<ListObjectsV2CommandInput, 'Prefix' | 'Delimiter'>, signal: AbortSignal, retry: RetryLimits): AsyncGenerator<ListObjectsV2CommandOutput> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3'); // loaded by the modes that list only
  const where = `s3://${bucket}/${input.Prefix ?? ''}`;
  let token: string | undefined;
  do {
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    const page = await withRetry(() => s3.send(new ListObjectsV2Command({ Bucket: bucket, ...input, EncodingType: 'url', ContinuationToken: token }), { abortSignal: signal }), { ...retry, signal });
    yield decodedPage(page);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    // Stopping here would pass a partial listing off as the whole: fail, and the caller retries the prefix.
    if (page.IsTruncated && !token) throw new Error(`S3 listing of ${where} is truncated but gave no continuation token`);
  } while (token);
}

/**
 * Every object under `prefix`, recursively, with its ETag unquoted. An entry without an ETag, size or
 * last-modified time fails the listing (S3 always sends them; a listing that lacks them is not one we can
 * verify copies against).
 */
export function s3Lister(s3: S3Client, bucket: string, retry: RetryLimits): ObjectLister {
  return async function* list(prefix, signal) {
    for await (const page of pages(s3, bucket, { Prefix: prefix }, signal, retry)) {
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        const etag = o.ETag === undefined ? '' : unquoteEtag(o.ETag);
        if (!etag || o.Size === undefined || o.LastModified === undefined) {
          throw new Error(`S3 listed ${JSON.stringify(o.Key)} in s3://${bucket}/${prefix} without ETag, Size or LastModified`);
        }
        yield { key: o.Key, size: o.Size, etag, last_modified: o.LastModified.toISOString(), ...(o.StorageClass ? { storage_class: o.StorageClass } : {}) };
      }
    }
  };
}

/** The subfolders directly under `prefix` (its CommonPrefixes with Delimiter '/'), a page at a time. */
export async function* listS3Subfolders(s3: S3Client, bucket: string, prefix: string, signal: AbortSignal, retry: RetryLimits): AsyncGenerator<string[]> {
  for await (const page of pages(s3, bucket, { Prefix: prefix, Delimiter: '/' }, signal, retry)) {
    const dirKeys: string[] = [];
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) dirKeys.push(p.Prefix);
    if (dirKeys.length) yield dirKeys;
  }
}
