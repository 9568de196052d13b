// `ott dump --inventory`: the subfolders come from an S3 Inventory instead of a listing. Its files are not
// grouped by subfolder, so the dump indexes every current object under s3_root_prefix into
// `{{table}}_inventory` (keyed by subfolder: the publisher reads one subfolder as a key range, with no LIST
// call), hands the subfolders to the dump's usual loader, and once the whole inventory was read counts
// objects and bytes per subfolder into the state table (inventory_objects / inventory_bytes) and drops the
// index rows of older inventories. Memory stays bounded: data files are streamed a slice at a time, the
// index is loaded through the dump's bulk loader (bulk.ts: LOAD DATA LOCAL INFILE of a reused batch buffer,
// one batch loading while the next fills), and the per-subfolder counts are summed by MySQL, never in a map here.
import type { PoolConnection } from 'mysql2/promise';
import type { Ctx } from '../common/context.js';
import { inventoryRows } from '../common/source/inventory/files.js';
import { readManifest, type InventoryManifest } from '../common/source/inventory/manifest.js';
import {
  countInventoryIntoDirs,
  dropInventoryStage,
  idRange,
  indexedRun,
  inventoryChanges,
  loadInventoryObjects,
  pruneInventoryObjects,
  staleInventoryKeys,
  upsertInventoryObjects,
} from '../state/inventory.js';
import { keySha } from '../state/dump.js';
import { Batch, bulkLoaderFor, type BulkLoader } from './bulk.js';
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

/** Index rows per LOAD DATA batch, and its text's bytes (two batches exist: one loading, one filling). */
const INDEX_ROWS = 50_000;
const INDEX_BYTES = 16 << 20;
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

/** The index's loader on `conn` (the same connection for every batch: it holds the staging table). */
function indexLoader(conn: PoolConnection, table: string, runId: number): BulkLoader {
  return bulkLoaderFor({
    infile: (text) => loadInventoryObjects(conn, table, runId, text),
    insert: async (rows) => {
      await upsertInventoryObjects(
        conn,
        table,
        runId,
        rows.map(([dirSha, sha, key, size, etag, storageClass, lastModified]) => ({
          dirKeySha: Buffer.from(dirSha, 'hex'),
          keySha: Buffer.from(sha, 'hex'),
          key,
          size: Number(size),
          etag,
          storageClass: storageClass || undefined,
          lastModified: new Date(`${lastModified.replace(' ', 'T')}Z`),
        })),
      );
      return rows.length;
    },
  });
}

/** A time as the index's lines carry it (INVENTORY_FORMAT in src/state/inventory.ts): UTC, milliseconds. */
const datetimeText = (t: Date): string => t.toISOString().slice(0, 23).replace('T', ' ');

/**
 * The inventory's subfolders as dump items; as a side effect every object is indexed. Subfolders first seen
 * while a batch filled are handed on only once that batch is loaded, so a subfolder is in the table only
 * with the objects read so far indexed. The next batch fills while one loads.
 */
export async function* inventoryItems(ctx: Ctx, m: InventoryManifest, runId: number, s: InventoryDumpSummary): AsyncGenerator<SourceItem[]> {
  const root = ctx.config.s3_root_prefix;
  const table = ctx.config.mysql_table;
  const rootHex = keySha(root).toString('hex');
  const retry = { maxAttempts: ctx.config.max_attempts, budgetMs: ctx.config.retry_budget_ms };
  let recent = new Set<string>();
  const conn = await ctx.db.getConnection();
  const loader = indexLoader(conn, table, runId);
  const batches = [new Batch(INDEX_BYTES, INDEX_ROWS), new Batch(INDEX_BYTES, INDEX_ROWS)];
  let filling = 0;
  let items: SourceItem[] = [];
  let loading: { done: Promise<number>; items: SourceItem[] } | undefined;
  /** Waits for the batch loading (a failed load throws here), and returns its subfolders. */
  const settle = async (): Promise<SourceItem[]> => {
    if (!loading) return [];
    const { done, items: loaded } = loading;
    loading = undefined;
    await done;
    return loaded;
  };
  /** The filled batch starts loading with the subfolders first seen in it; the other one fills next. */
  const send = (): void => {
    const full = batches[filling];
    filling ^= 1;
    batches[filling].clear();
    const done = loader.load(full);
    done.catch(() => undefined); // handled by settle()
    loading = { done, items };
    items = [];
  };
  try {
    for await (const rows of inventoryRows(ctx.clients.s3(), m, ctx.signal, retry)) {
      for (const r of rows) {
        if (!r.key.startsWith(root)) {
          s.outside_root++;
          continue;
        }
        const slash = r.key.indexOf('/', root.length);
        let dirHex: string;
        let item: SourceItem | undefined;
        if (slash < 0) {
          // An object directly under s3_root_prefix belongs to no subfolder: it makes the root row (dir_key =
          // s3_root_prefix, src/common/source/rootDir.ts), once, and is indexed under the root prefix's own
          // hash, so the publisher serves the root row from the index like any subfolder.
          if (s.root_objects === 0) item = { dirKey: root };
          s.root_objects++;
          s.root_bytes += r.size;
          dirHex = rootHex;
        } else {
          const dirKey = r.key.slice(0, slash + 1);
          dirHex = keySha(dirKey).toString('hex');
          if (!recent.has(dirKey)) {
            if (recent.size >= RECENT_DIRS) recent = new Set();
            recent.add(dirKey);
            item = { dirKey };
          }
        }
        s.objects++;
        s.bytes += r.size;
        const line = [dirHex, keySha(r.key).toString('hex'), r.key, String(r.size), r.etag, r.storageClass ?? '', datetimeText(r.lastModified)];
        if (!batches[filling].addRow(line)) {
          const loaded = await settle();
          send();
          if (loaded.length) yield loaded;
          batches[filling].addRow(line);
        }
        if (item) items.push(item);
      }
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    }
    const loaded = await settle();
    if (loaded.length) yield loaded;
    if (batches[filling].count) {
      send();
      const last = await settle();
      if (last.length) yield last;
    }
  } finally {
    // No statement outlives the generator: a load still in flight ends before the connection goes back.
    await loading?.done.catch(() => undefined);
    await dropInventoryStage(conn).catch(() => undefined);
    conn.release();
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
