// Both sides of one subfolder, listed page by page (never a whole listing in memory): S3 through the
// common lister and object filter (last-modified window, storage classes: what the publisher publishes),
// GCS under the mirrored prefix. Both services list in UTF-8 byte order, which the merge in diff.ts relies
// on (and checks). The diff lists S3 unfiltered (listS3Scoped): an object the filters leave out is out of
// scope, not gone, and its GCS copy must never look like an extra to delete. And the one way an object is
// removed from GCS (deleteGcsGeneration), for the rsync cdn engine and the publisher's delta pass.
import type { Ctx } from '../common/context.js';
import type { ObjectEntry } from '../common/messages.js';
import { gcsPrefix } from '../common/naming.js';
import { withRetry, type RetryLimits } from '../common/retry.js';
import { objectFilter, type FilterReason } from '../common/source/filter.js';
import { s3Lister } from '../common/source/s3List.js';

export interface GcsEntry {
  /** The name relative to the subfolder's mirrored prefix: what an S3 key is relative to the subfolder. */
  rel: string;
  name: string;
  size: number;
  /** base64, absent for composite objects */
  md5Hash?: string;
  generation?: string;
  metadata: Record<string, string>;
}

const PAGE_SIZE = 1000;

function retryLimits(ctx: Ctx): RetryLimits {
  return { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms };
}

/** An S3 object and, when a filter leaves it out of scope, which one. */
export interface ScopedEntry {
  o: ObjectEntry;
  outOfScope?: FilterReason;
}

/** Every object under s3://s3_bucket/dirKey, in key order, each marked in or out of scope. */
export async function* listS3Scoped(ctx: Ctx, dirKey: string): AsyncGenerator<ScopedEntry> {
  const inScope = objectFilter(ctx.config);
  for await (const o of s3Lister(ctx.clients.s3(), ctx.config.s3_bucket!, retryLimits(ctx))(dirKey, ctx.signal)) {
    const f = inScope(o);
    yield f.keep ? { o } : { o, outOfScope: f.why };
  }
}

/** The in-scope objects under s3://s3_bucket/dirKey, in key order. */
export async function* listS3(ctx: Ctx, dirKey: string): AsyncGenerator<ObjectEntry> {
  for await (const e of listS3Scoped(ctx, dirKey)) if (!e.outOfScope) yield e.o;
}

/** The objects under gs://gcs_bucket/<dirKey mapped by gcsPrefix>, in name order. */
export async function* listGcs(ctx: Ctx, dirKey: string): AsyncGenerator<GcsEntry> {
  const bucket = ctx.clients.gcs().bucket(ctx.config.gcs_bucket!);
  const prefix = gcsPrefix(dirKey, ctx.config);
  let pageToken: string | undefined;
  do {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    const [files, next] = await withRetry(() => bucket.getFiles({ prefix, autoPaginate: false, maxResults: PAGE_SIZE, pageToken }), { ...retryLimits(ctx), signal: ctx.signal });
    for (const f of files) {
      const md = f.metadata;
      yield { rel: f.name.slice(prefix.length), name: f.name, size: Number(md.size ?? 0), md5Hash: md.md5Hash, generation: md.generation === undefined ? undefined : String(md.generation), metadata: (md.metadata ?? {}) as Record<string, string> };
    }
    pageToken = (next as { pageToken?: string } | null)?.pageToken;
  } while (pageToken);
}

/**
 * Deletes exactly this generation of a GCS object (one that is rewritten meanwhile survives), retried by
 * our one layer (the Storage client's own retries are off: common/clients.ts). Throws when it gives up.
 */
export async function deleteGcsGeneration(ctx: Ctx, name: string, generation: string | undefined): Promise<void> {
  const file = ctx.clients.gcs().bucket(ctx.config.gcs_bucket!).file(name);
  await withRetry(() => file.delete(generation ? { ifGenerationMatch: Number(generation) } : {}), { ...retryLimits(ctx), signal: ctx.signal });
}
