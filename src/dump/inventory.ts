// `ott dump --inventory`: the subfolders come from an S3 Inventory instead of a listing. Its files are not
// grouped by subfolder, so the dump indexes every current object under s3_root_prefix into
// `{{table}}_inventory` (keyed by subfolder: the publisher reads one subfolder as a key range, with no LIST
// call), hands the subfolders to the dump's usual loader, and once the whole inventory was read counts
// objects and bytes per subfolder into the state table (inventory_objects / inventory_bytes) and drops the
// index rows of older inventories. Memory stays bounded: data files are streamed a slice at a time, and the
// per-subfolder counts are summed by MySQL, never in a map here.
import type { Ctx } from '../common/context.js';
import { createLimiter } from '../common/limit.js';
import { inventoryRows } from '../common/source/inventory/files.js';
import { readManifest, type InventoryManifest } from '../common/source/inventory/manifest.js';
import { countInventoryIntoDirs, idRange, indexedRun, inventoryChanges, pruneInventoryObjects, staleInventoryKeys, upsertInventoryObjects, type InventoryObject } from '../state/inventory.js';
import { keySha } from '../state/dump.js';
import type { SourceItem } from './sources.js';

export interface InventoryDumpSummary {
  manifest: string;
  format: string;
  created_at: string;
  files: number;
  /** Current objects under s3_root_prefix, indexed. */
  objects: number;
  bytes: number;
  /** Of those, directly under s3_root_prefix (no subfolder): indexed under the root prefix itself. */
  root_objects: number;
  root_bytes: number;
  /** Listed by the inventory outside s3_root_prefix: not this table's. */
  outside_root: number;
  /** Index rows of older inventories deleted (objects this inventory no longer lists). */
  pruned: number;
  /** Against the inventory the index held before (absent on the first): objects new, changed (size or ETag) and deleted. */
  changes?: { since_run: number; new_objects: number; changed_objects: number; deleted_objects: number; deleted_sample: string[] };
}

/** Index rows per statement. */
const UPSERT_ROWS = 1000;
/** Index statements at once (pool connections): a slice's statements run side by side. */
const UPSERT_CONCURRENCY = 4;
/** Subfolders remembered to skip repeats: the dump's loader takes duplicates anyway, this only spares it work. */
const RECENT_DIRS = 100_000;
const PRUNE_ROWS = 10_000;
const COUNT_IDS = 1000;
const SAMPLE = 10;

export function noInventorySummary(m: InventoryManifest): InventoryDumpSummary {
  return { manifest: m.url, format: m.format, created_at: m.createdAt.toISOString(), files: m.files.length, objects: 0, bytes: 0, root_objects: 0, root_bytes: 0, outside_root: 0, pruned: 0 };
}

/** The manifest `--inventory` names, refused if it inventories another bucket than s3_bucket. */
export async function openInventory(ctx: Ctx, url: string): Promise<InventoryManifest> {
  const retry = { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms };
  const m = await readManifest(ctx.clients.s3(), url, ctx.signal, retry);
  if (ctx.config.s3_bucket && m.sourceBucket !== ctx.config.s3_bucket) {
    throw new Error(`inventory manifest ${m.url} lists bucket ${m.sourceBucket}, not s3_bucket ${ctx.config.s3_bucket}: nothing was loaded`);
  }
  return m;
}

/**
 * The inventory's subfolders as dump items; as a side effect each slice of objects is indexed (awaited
 * before its subfolders are handed on, so a subfolder is in the table only with its objects indexed).
 */
export async function* inventoryItems(ctx: Ctx, m: InventoryManifest, runId: number, s: InventoryDumpSummary): AsyncGenerator<SourceItem[]> {
  const root = ctx.config.s3_root_prefix;
  const table = ctx.config.mysql_table;
  const rootSha = keySha(root);
  const retry = { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms };
  let recent = new Set<string>();
  const upserts = createLimiter(UPSERT_CONCURRENCY);
  for await (const rows of inventoryRows(ctx.clients.s3(), m, ctx.signal, retry)) {
    const items: SourceItem[] = [];
    const indexed: InventoryObject[] = [];
    for (const r of rows) {
      if (!r.key.startsWith(root)) {
        s.outside_root++;
        continue;
      }
      const slash = r.key.indexOf('/', root.length);
      s.objects++;
      s.bytes += r.size;
      let dirSha: Buffer;
      if (slash < 0) {
        // An object directly under s3_root_prefix belongs to no subfolder: it makes the root row (dir_key =
        // s3_root_prefix, src/common/source/rootDir.ts), once, and is indexed under the root prefix's own
        // hash, so the publisher serves the root row from the index like any subfolder.
        if (s.root_objects === 0) items.push({ dirKey: root });
        s.root_objects++;
        s.root_bytes += r.size;
        dirSha = rootSha;
      } else {
        const dirKey = r.key.slice(0, slash + 1);
        dirSha = keySha(dirKey);
        if (!recent.has(dirKey)) {
          if (recent.size >= RECENT_DIRS) recent = new Set();
          recent.add(dirKey);
          items.push({ dirKey });
        }
      }
      indexed.push({ dirKeySha: dirSha, keySha: keySha(r.key), key: r.key, size: r.size, etag: r.etag, storageClass: r.storageClass, lastModified: r.lastModified });
    }
    const chunks: InventoryObject[][] = [];
    for (let i = 0; i < indexed.length; i += UPSERT_ROWS) chunks.push(indexed.slice(i, i + UPSERT_ROWS));
    // A slice is at most ROWS_PER_SLICE rows, so this list is bounded; allSettled: no statement outlives the slice.
    const done = await Promise.allSettled(chunks.map((c) => upserts.run(() => upsertInventoryObjects(ctx.db, table, runId, c))));
    const failed = done.find((d): d is PromiseRejectedResult => d.status === 'rejected');
    if (failed) throw failed.reason;
    if (items.length) yield items;
  }
}

/** The run whose objects the index holds before this dump loads: the inventory this one is compared with. */
export const previousInventoryRun = (ctx: Ctx): Promise<number | undefined> => indexedRun(ctx.db, ctx.config.mysql_table);

/**
 * After a complete inventory dump: what changed since the previous inventory (new, changed, deleted objects:
 * a newer inventory compared with the index, neither read again), then index rows of older inventories go, and every row of the state table
 * gets this inventory's counts (slices of ids, each one statement: no statement holds the whole table).
 */
export async function finishInventory(ctx: Ctx, runId: number, s: InventoryDumpSummary, previousRun: number | undefined): Promise<void> {
  const table = ctx.config.mysql_table;
  const deletedSample = previousRun === undefined ? [] : await staleInventoryKeys(ctx.db, table, runId, SAMPLE);
  for (let n = PRUNE_ROWS; n === PRUNE_ROWS; ) {
    n = await pruneInventoryObjects(ctx.db, table, runId, PRUNE_ROWS);
    s.pruned += n;
  }
  if (previousRun !== undefined) {
    const c = await inventoryChanges(ctx.db, table, runId);
    s.changes = { since_run: previousRun, new_objects: c.new, changed_objects: c.changed, deleted_objects: s.pruned, deleted_sample: deletedSample };
    ctx.log.info('dump: the inventory against the previous one', { ...s.changes });
  }
  const range = await idRange(ctx.db, table);
  if (!range) return;
  for (let after = range.lo - 1; after < range.hi; after += COUNT_IDS) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    await countInventoryIntoDirs(ctx.db, table, runId, after, Math.min(range.hi, after + COUNT_IDS));
  }
}
