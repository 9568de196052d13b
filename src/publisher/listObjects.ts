// The objects of one subfolder: every key under it, recursively (ListObjectsV2 without a delimiter),
// page by page, filtered by the config's last_modified_after/before and storage_class. Streams: a
// subfolder of millions of keys is never held whole.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../common/config/schema.js';
import type { ObjectEntry } from '../common/messages.js';
import { withRetry } from '../common/retry.js';

/** Lists one subfolder's objects; the benchmark swaps in a fixture to measure publishing alone. */
export type ObjectLister = (dirKey: string, signal: AbortSignal) => AsyncIterable<ObjectEntry>;

/** S3 answers ETags quoted (`"9b2c..."`, `"abc...-3"`); messages carry them unquoted, otherwise as given. */
export function unquoteEtag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

export function s3Lister(s3: S3Client, bucket: string, retry: { maxAttempts: number; budgetMs: number }): ObjectLister {
  return async function* list(dirKey, signal) {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    let token: string | undefined;
    do {
      const page = await withRetry(
        () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: dirKey, ContinuationToken: token }), { abortSignal: signal }),
        { ...retry, signal },
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        if (o.ETag === undefined || o.Size === undefined || o.LastModified === undefined) {
          throw new Error(`S3 listed ${JSON.stringify(o.Key)} in s3://${bucket}/${dirKey} without ETag, Size or LastModified`);
        }
        yield { key: o.Key, size: o.Size, etag: unquoteEtag(o.ETag), last_modified: o.LastModified.toISOString(), ...(o.StorageClass ? { storage_class: o.StorageClass } : {}) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) throw new Error(`S3 listing of s3://${bucket}/${dirKey} is truncated but gave no continuation token`);
    } while (token);
  };
}

export interface ObjectFilter {
  /** Whether this object is to be transferred; `why` names the filter that dropped it. */
  (o: ObjectEntry): { keep: true } | { keep: false; why: 'last_modified_after' | 'last_modified_before' | 'storage_class' };
}

/**
 * The reference's filters: modified strictly after `last_modified_after` and strictly before
 * `last_modified_before`, in one of `storage_class` (S3 omits the class for STANDARD objects).
 */
export function objectFilter(c: Pick<Config, 'last_modified_after' | 'last_modified_before' | 'storage_class'>): ObjectFilter {
  const after = c.last_modified_after ? Date.parse(c.last_modified_after) : undefined;
  const before = c.last_modified_before ? Date.parse(c.last_modified_before) : undefined;
  const classes = c.storage_class === undefined ? undefined : new Set<string>(Array.isArray(c.storage_class) ? c.storage_class : [c.storage_class]);
  const keepAll = { keep: true } as const;
  // No filter configured (the usual case): no date to parse on each of millions of keys.
  if (after === undefined && before === undefined && !classes?.size) return () => keepAll;
  return (o) => {
    const t = Date.parse(o.last_modified);
    if (after !== undefined && !(t > after)) return { keep: false, why: 'last_modified_after' };
    if (before !== undefined && !(t < before)) return { keep: false, why: 'last_modified_before' };
    if (classes && classes.size && !classes.has(o.storage_class ?? 'STANDARD')) return { keep: false, why: 'storage_class' };
    return keepAll;
  };
}
