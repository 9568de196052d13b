// Both sides of one subfolder, listed page by page (never a whole listing in memory): S3 through the
// publisher's objectFilter (last-modified window, storage classes), GCS under the mirrored prefix.
// Entries carry the name relative to the subfolder, so the two sides compare directly; both services list
// in UTF-8 byte order, which the merge in diff.ts relies on (and checks).
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Ctx } from '../common/context.js';
import { gcsPrefix } from '../common/naming.js';
import { withRetry } from '../common/retry.js';
import { objectFilter } from '../publisher/listObjects.js';

export interface S3Entry {
  rel: string;
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  storageClass: string;
}

export interface GcsEntry {
  rel: string;
  name: string;
  size: number;
  /** base64, absent for composite objects */
  md5Hash?: string;
  generation?: string;
  metadata: Record<string, string>;
}

const PAGE_SIZE = 1000;

/** The publisher's own filter (last-modified window, storage classes): both modes count the same objects. */
function scopeOf(ctx: Ctx): (e: S3Entry) => boolean {
  const keep = objectFilter(ctx.config);
  return (e) => keep({ key: e.key, size: e.size, etag: e.etag, last_modified: e.lastModified.toISOString(), storage_class: e.storageClass }).keep;
}

function retryOpts(ctx: Ctx): { maxAttempts: number; budgetMs: number; signal: AbortSignal } {
  return { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms, signal: ctx.signal };
}

/** The in-scope objects under s3://s3_bucket/dirKey, in key order. */
export async function* listS3(ctx: Ctx, dirKey: string): AsyncGenerator<S3Entry> {
  const s3 = ctx.clients.s3();
  const bucket = ctx.config.s3_bucket!;
  const inScope = scopeOf(ctx);
  let token: string | undefined;
  do {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    const page = await withRetry(
      () => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: dirKey, ContinuationToken: token, MaxKeys: PAGE_SIZE }), { abortSignal: ctx.signal }),
      retryOpts(ctx),
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      const e: S3Entry = { rel: o.Key.slice(dirKey.length), key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0), storageClass: o.StorageClass ?? 'STANDARD' };
      if (inScope(e)) yield e;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** The objects under gs://gcs_bucket/<dirKey mapped by gcsPrefix>, in name order. */
export async function* listGcs(ctx: Ctx, dirKey: string): AsyncGenerator<GcsEntry> {
  const bucket = ctx.clients.gcs().bucket(ctx.config.gcs_bucket!);
  const prefix = gcsPrefix(dirKey, ctx.config);
  let pageToken: string | undefined;
  do {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    const [files, next] = await withRetry(() => bucket.getFiles({ prefix, autoPaginate: false, maxResults: PAGE_SIZE, pageToken }), retryOpts(ctx));
    for (const f of files) {
      const md = f.metadata;
      yield { rel: f.name.slice(prefix.length), name: f.name, size: Number(md.size ?? 0), md5Hash: md.md5Hash, generation: md.generation === undefined ? undefined : String(md.generation), metadata: (md.metadata ?? {}) as Record<string, string> };
    }
    pageToken = (next as { pageToken?: string } | null)?.pageToken;
  } while (pageToken);
}

export interface SideTotals {
  bytes: number;
  objects: number;
}

async function total<T extends { size: number }>(it: AsyncIterable<T>): Promise<SideTotals> {
  const t = { bytes: 0, objects: 0 };
  for await (const e of it) {
    t.bytes += e.size;
    t.objects++;
  }
  return t;
}

/** Both sides' bytes and object counts, listed in parallel. */
export async function measure(ctx: Ctx, dirKey: string): Promise<{ s3: SideTotals; gcs: SideTotals }> {
  const [s3, gcs] = await Promise.all([total(listS3(ctx, dirKey)), total(listGcs(ctx, dirKey))]);
  return { s3, gcs };
}
