// Mode `dump`: loads the subfolders under s3_root_prefix into the state table. Only new subfolders are
// inserted (the reference's delta dump); existing rows are untouched; subfolders gone from S3 are reported
// (count + sample) and marked missing (last_seen), never deleted. Each run is recorded in dump_runs.
// Restartable and idempotent: a second run over the same listing changes no row of the state table.
//
// The table's hashes are read once into memory (snapshot.ts): a listed key found there only sets a bit,
// the others are batched into LOAD DATA (or INSERT) IGNORE while the next batch is being read, and the
// rows whose bit stays clear are the vanished ones. No statement ever touches every row.
// With --inventory the subfolders come from an S3 Inventory (inventory.ts), whose objects are indexed for
// the publisher and counted per subfolder.
import { hash } from 'node:crypto';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { startProgress, type Progress } from '../common/progress.js';
import { listS3Subfolders } from '../common/source/s3List.js';
import { readDumpFile, subfolderItems, type SourceItem } from './sources.js';
import { dbNow } from '../state/clock.js';
import { dirKeysOf, finishDumpRun, lockDump, markListedAgain, markMissing, previousDumpStart, startDumpRun, unlockDump } from '../state/dump.js';
import { Batch, bulkLoader, type BulkLoader } from './bulk.js';
import { readSnapshot, type Snapshot } from './snapshot.js';
import { finishInventory, inventoryItems, noInventorySummary, openInventory, previousInventoryRun, type InventoryDumpSummary } from './inventory.js';
import { INVENTORY_SOURCE } from '../state/inventory.js';

export interface DumpArgs {
  dumpFile?: string;
  /** s3://BUCKET/PREFIX/manifest.json, or a prefix holding inventory deliveries (the newest is read). */
  inventory?: string;
  /** New keys per LOAD DATA statement. */
  batchSize?: number;
}

export interface DumpSummary {
  runId: number;
  source: string;
  /** Distinct subfolders listed: new + existing. */
  scanned: number;
  new: number;
  existing: number;
  /** Keys listed more than once (counted once above). */
  duplicates: number;
  /** In the table, not listed by this run (all of them, including those missing before). */
  vanished: number;
  vanishedSample: string[];
  /** Missing before, listed again by this run. */
  reappeared: number;
  badLines: number;
  badLineSample: { lineNo: number; line: string; why: string }[];
  seconds: number;
  method?: string;
  /** An inventory dump: what it read and indexed. */
  inventory?: InventoryDumpSummary;
}

const SAMPLE = 10;
const MARK_CHUNK = 1000;
/** Bytes of LOAD DATA text per batch (two batches exist: one loading, one filling). */
const BATCH_BYTES = 4 << 20;

export async function run(ctx: Ctx, args: DumpArgs = {}): Promise<DumpSummary> {
  const { config, log, db } = ctx;
  const table = config.mysql_table;
  const batchSize = args.batchSize ?? 50_000;
  let source: AsyncIterable<SourceItem[]> | undefined;
  let sourceName: string;
  if (args.inventory && args.dumpFile) throw new Error('dump: --inventory and --dump-file are two sources; give one');
  const manifest = args.inventory ? await openInventory(ctx, args.inventory) : undefined;
  if (manifest) {
    sourceName = `${INVENTORY_SOURCE}${manifest.url}`;
  } else if (args.dumpFile) {
    source = readDumpFile(args.dumpFile, config.s3_root_prefix);
    sourceName = `file ${args.dumpFile}`;
  } else {
    requireFields(config, 'dump', ['s3_bucket']);
    source = subfolderItems(listS3Subfolders(ctx.clients.s3(), config.s3_bucket!, config.s3_root_prefix, ctx.signal, { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms }));
    sourceName = `s3://${config.s3_bucket}/${config.s3_root_prefix}`;
  }
  const started = Date.now();
  const s: DumpSummary = { runId: 0, source: sourceName, scanned: 0, new: 0, existing: 0, duplicates: 0, vanished: 0, vanishedSample: [], reappeared: 0, badLines: 0, badLineSample: [], seconds: 0 };
  // The run's own connection: it holds the dump lock for the whole run and carries the bulk loads.
  const conn = await db.getConnection();
  const progress = startProgress(log, 'dump', { rateKey: 'scanned' });
  try {
    await lockDump(conn, table);
    const runStart = await dbNow(db);
    s.runId = await startDumpRun(db, table, runStart, sourceName);
    let previousInventory: number | undefined;
    if (manifest) {
      previousInventory = await previousInventoryRun(ctx);
      s.inventory = noInventorySummary(manifest);
      source = inventoryItems(ctx, manifest, s.runId, s.inventory);
    }
    const snapshot = await readSnapshot(db, table);
    log.info('dump: starting', { source: sourceName, table, run_id: s.runId, rows_in_table: snapshot.size });
    const loader = bulkLoader(conn, table, runStart);
    await loadListing(ctx, source!, snapshot, { loader, batchSize, progress }, s);
    s.scanned = s.new + s.existing;
    s.method = loader.method;

    // The whole listing was read: only now may rows count as missing.
    await reconcile(ctx, snapshot, s);
    if (s.inventory) await finishInventory(ctx, s.runId, s.inventory, previousInventory);
    await finishDumpRun(db, s.runId, s);
  } finally {
    progress.stop();
    await unlockDump(conn, table).catch(() => undefined);
    conn.release();
  }
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  if (s.vanished) log.warn('dump: subfolders in the table are gone from the source (kept, not deleted)', { vanished: s.vanished, sample: s.vanishedSample });
  return s;
}

/**
 * Reads the listing: a key found in the snapshot only sets its bit; the others are batched into the bulk
 * loader, one batch loading while the other is filled (a failed load surfaces at the next await).
 */
async function loadListing(ctx: Ctx, source: AsyncIterable<SourceItem[]>, snapshot: Snapshot, o: { loader: BulkLoader; batchSize: number; progress: Progress }, s: DumpSummary): Promise<void> {
  const batches = [new Batch(BATCH_BYTES, o.batchSize), new Batch(BATCH_BYTES, o.batchSize)];
  let filling = 0;
  let inflight: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    await inflight; // the other batch is free again
    const full = batches[filling];
    if (!full.count) return;
    filling ^= 1;
    batches[filling].clear();
    inflight = o.loader.load(full).then((inserted) => {
      s.new += inserted;
      s.duplicates += full.count - inserted;
      o.progress.add({ new: inserted });
    });
    inflight.catch(() => undefined); // handled by the next await
  };
  const sha = Buffer.alloc(32);
  try {
    for await (const items of source) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
      for (const item of items) {
        if ('bad' in item) {
          s.badLines++;
          if (s.badLineSample.length < SAMPLE) s.badLineSample.push({ lineNo: item.lineNo, line: item.bad.slice(0, 200), why: item.why });
          ctx.log.warn('dump: line not loaded', { line_no: item.lineNo, why: item.why });
          continue;
        }
        // Hashed as hex, decoded into one reused Buffer for the lookup: nothing allocated per key survives.
        const hex = hash('sha256', item.dirKey);
        sha.write(hex, 'hex');
        const i = snapshot.find(sha);
        if (i >= 0) {
          if (snapshot.markListed(i)) s.existing++;
          else s.duplicates++;
        } else if (!batches[filling].add(item.dirKey, hex)) {
          await flush();
          batches[filling].add(item.dirKey, hex);
        }
      }
      o.progress.add({ scanned: items.length });
    }
    await flush();
    await inflight;
  } finally {
    await inflight.catch(() => undefined); // never hand back the run's connection with a load still running on it
  }
}

/** Rows the run did not list become missing (stamped once); missing rows it listed become listed again. */
async function reconcile(ctx: Ctx, snapshot: Snapshot, s: DumpSummary): Promise<void> {
  const table = ctx.config.mysql_table;
  const wasMissing = new Set(snapshot.missing);
  const previous = await previousDumpStart(ctx.db, table, s.runId);
  const sample: Buffer[] = [];
  let chunk: Buffer[] = [];
  for (const i of snapshot.unlisted()) {
    s.vanished++;
    if (sample.length < SAMPLE) sample.push(snapshot.sha(i));
    if (wasMissing.has(i)) continue;
    chunk.push(snapshot.sha(i));
    if (chunk.length === MARK_CHUNK) {
      await markMissing(ctx.db, table, chunk, previous);
      chunk = [];
    }
  }
  await markMissing(ctx.db, table, chunk, previous);
  s.reappeared = await markListedAgain(ctx.db, table, snapshot.missing.filter((i) => snapshot.isListed(i)).map((i) => snapshot.sha(i)));
  s.vanishedSample = await dirKeysOf(ctx.db, table, sample);
}
