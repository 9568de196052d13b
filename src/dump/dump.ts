// Mode `dump`: loads the subfolders under s3_root_prefix into the state table. Only new subfolders are
// inserted (the reference's delta dump); existing rows are untouched; subfolders gone from S3 are reported
// (count + sample) and marked missing (last_seen), never deleted. Each run is recorded in dump_runs.
// Restartable and idempotent: a second run over the same listing changes no row of the state table.
//
// Memory does not grow with the table or the listing: the listing (and the table's few missing marks) is
// reordered by key hash in bounded memory, spilling to disk beyond 8 MiB (spill.ts), then merged with the
// table's unique index read in the same order a page at a time (merge.ts): the new keys are batched into
// LOAD DATA (or INSERT) IGNORE, the table rows nobody listed are the vanished ones. Chosen over the other
// bounded design, a staging table loaded with the whole listing and two anti-joins in MariaDB, by
// measurement (bench/dump.bench.ts, whose bare baseline is that design without any tool around it: at
// 1 M subfolders the merge was 2.0x its rate with 1% new keys and 5.8x with 1% vanished): the staging
// table sends and writes every listed key (a table as big as the listing, its index, a join over the
// state table), where the merge reads one index in order and writes only the delta, leaving the shared
// database's buffer pool and disk alone. The price is local disk for the spill (~55 bytes a key).
// No statement ever touches every row.
// With --inventory the subfolders come from an S3 Inventory (inventory.ts), whose objects are indexed for
// the publisher and counted per subfolder.
import { hash } from 'node:crypto';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { startProgress, type Progress } from '../common/progress.js';
import { listS3Subfolders } from '../common/source/s3List.js';
import { readDumpFile, subfolderItems, type SourceItem } from './sources.js';
import { dbNow } from '../state/clock.js';
import { dirKeysOf, finishDumpRun, forEachMissingKey, lockDump, markListedAgain, markMissing, previousDumpStart, readKeyPage, startDumpRun, unlockDump } from '../state/dump.js';
import { Batch, bulkLoader, type BulkLoader } from './bulk.js';
import { LISTED, MISSING, Spill } from './spill.js';
import { mergePartition, recordKey, type MergeSink, type PageReader } from './merge.js';
import { finishInventory, inventoryItems, noInventorySummary, openInventory, previousInventoryRun, type InventoryDumpSummary } from './inventory.js';
import { INVENTORY_SOURCE } from '../state/inventory.js';

export interface DumpArgs {
  dumpFile?: string;
  /** s3://BUCKET/PREFIX/manifest.json, or a prefix holding inventory deliveries (the newest is read). */
  inventory?: string;
  /** New keys per LOAD DATA statement. */
  batchSize?: number;
  /** The listing's records held in memory before they go to disk (spill.ts); the run's memory is ~2.5x this. */
  spillBytes?: number;
  /** Where the spill files go (default: the OS temp dir, TMPDIR). */
  tmpDir?: string;
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
/** 8 MiB of records: ~150 k keys in memory; a 10 M listing spills ~550 MB to disk in 256 files of ~2 MB. */
const SPILL_BYTES = 8 << 20;

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
  const spill = new Spill(args.spillBytes ?? SPILL_BYTES, args.tmpDir);
  let apply: Apply | undefined;
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
    log.info('dump: starting', { source: sourceName, table, run_id: s.runId });
    // The rows marked missing join the listing's records: the merge then knows them without a lookup.
    await forEachMissingKey(db, table, (sha) => spill.add(MISSING, sha));
    await readListing(ctx, source!, spill, progress, s);
    const loader = bulkLoader(conn, table, runStart);
    apply = new Apply(ctx, loader, batchSize, await previousDumpStart(db, table, s.runId), s, progress);
    await reconcile(ctx, spill, apply);
    s.scanned = s.new + s.existing;
    s.method = loader.method;
    s.vanishedSample = await dirKeysOf(db, table, apply.sample);
    if (s.inventory) await finishInventory(ctx, s.runId, s.inventory, previousInventory);
    await finishDumpRun(db, s.runId, s);
  } finally {
    progress.stop();
    await apply?.settle();
    spill.dispose();
    await unlockDump(conn, table).catch(() => undefined);
    conn.release();
  }
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  if (s.vanished) log.warn('dump: subfolders in the table are gone from the source (kept, not deleted)', { vanished: s.vanished, sample: s.vanishedSample });
  return s;
}

/** Reads the listing into the spill: nothing is sent to MySQL before the whole listing was read. */
async function readListing(ctx: Ctx, source: AsyncIterable<SourceItem[]>, spill: Spill, progress: Progress, s: DumpSummary): Promise<void> {
  // Hashed as hex, decoded into one reused Buffer: a Buffer per key would be an ArrayBuffer per key, and
  // millions of them between two collections cost more memory than the spill's budget.
  const sha = Buffer.alloc(32);
  for await (const items of source) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    for (const item of items) {
      if ('bad' in item) {
        s.badLines++;
        if (s.badLineSample.length < SAMPLE) s.badLineSample.push({ lineNo: item.lineNo, line: item.bad.slice(0, 200), why: item.why });
        ctx.log.warn('dump: line not loaded', { line_no: item.lineNo, why: item.why });
        continue;
      }
      sha.write(hash('sha256', item.dirKey), 'hex');
      spill.add(LISTED, sha, item.dirKey);
    }
    progress.add({ scanned: items.length });
  }
}

/**
 * What the merge finds, applied: new keys batched into the bulk loader (one batch loading while the other
 * fills; a failed load surfaces at the next await), vanished rows marked missing and missing rows listed
 * again in chunks, the counts and the vanished sample. Holds two batches and two chunks, nothing per row.
 */
class Apply implements MergeSink {
  private readonly batches: [Batch, Batch];
  private filling = 0;
  private inflight: Promise<void> = Promise.resolve();
  private gone: Buffer[] = [];
  private back: Buffer[] = [];
  readonly sample: Buffer[] = [];

  constructor(
    private readonly ctx: Ctx,
    private readonly loader: BulkLoader,
    batchSize: number,
    private readonly previousRun: Date | null,
    private readonly s: DumpSummary,
    private readonly progress: Progress,
  ) {
    this.batches = [new Batch(BATCH_BYTES, batchSize), new Batch(BATCH_BYTES, batchSize)];
  }

  existing(records: Buffer, at: number, wasMissing: boolean): void | Promise<void> {
    this.s.existing++;
    if (!wasMissing) return;
    this.back.push(Buffer.from(records.subarray(at + 1, at + 33)));
    if (this.back.length === MARK_CHUNK) return this.flushMarks();
  }

  vanished(page: Buffer, at: number, wasMissing: boolean): void | Promise<void> {
    this.s.vanished++;
    if (this.sample.length < SAMPLE) this.sample.push(Buffer.from(page.subarray(at, at + 32)));
    if (wasMissing) return; // stamped when it went missing; the stamp stays
    this.gone.push(Buffer.from(page.subarray(at, at + 32)));
    if (this.gone.length === MARK_CHUNK) return this.flushMarks();
  }

  added(records: Buffer, at: number): void | Promise<void> {
    const key = recordKey(records, at);
    const shaHex = records.toString('hex', at + 1, at + 33);
    if (this.batches[this.filling].add(key, shaHex)) return;
    return this.flush().then(() => void this.batches[this.filling].add(key, shaHex));
  }

  repeated(n: number): void {
    this.s.duplicates += n;
  }

  async flushMarks(): Promise<void> {
    const table = this.ctx.config.mysql_table;
    const [gone, back] = [this.gone, this.back];
    [this.gone, this.back] = [[], []];
    await markMissing(this.ctx.db, table, gone, this.previousRun);
    this.s.reappeared += await markListedAgain(this.ctx.db, table, back);
  }

  /** Sends the filled batch once the other one is loaded. */
  async flush(): Promise<void> {
    await this.inflight; // the other batch is free again
    const full = this.batches[this.filling];
    if (!full.count) return;
    this.filling ^= 1;
    this.batches[this.filling].clear();
    this.inflight = this.loader.load(full).then((inserted) => {
      this.s.new += inserted;
      // Not inserted: rows that appeared since the merge read their range (IGNORE kept them as they were).
      this.s.existing += full.count - inserted;
      this.progress.add({ new: inserted });
    });
    this.inflight.catch(() => undefined); // handled by the next await
  }

  /** Everything sent and loaded. */
  async finish(): Promise<void> {
    await this.flush();
    await this.inflight;
    await this.flushMarks();
  }

  /** Never hand back the run's connection with a load still running on it. */
  settle(): Promise<void> {
    return this.inflight.catch(() => undefined);
  }
}

/** Merges every partition with the table: the listing was read whole, so only now may rows count as missing. */
async function reconcile(ctx: Ctx, spill: Spill, apply: Apply): Promise<void> {
  const read: PageReader = (range, rows) => readKeyPage(ctx.db, ctx.config.mysql_table, range, rows);
  for await (const p of spill.partitions()) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    await mergePartition(p, read, apply);
  }
  await apply.finish();
}
