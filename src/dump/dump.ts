// Mode `dump`: loads the subfolders under s3_root_prefix into the state table. Only new subfolders are
// inserted (the reference's delta dump); existing rows are untouched; subfolders gone from S3 are reported
// (count + sample) and marked missing (last_seen), never deleted. Each run is recorded in dump_runs.
// Restartable and idempotent: a second run over the same listing changes no row of the state table.
//
// The table's hashes are read once into memory (snapshot.ts): a listed key found there only sets a bit,
// the others are batched into LOAD DATA (or INSERT) IGNORE while the next batch is being read, and the
// rows whose bit stays clear are the vanished ones. No statement ever touches every row.
import { hash } from 'node:crypto';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { startProgress } from '../common/progress.js';
import { listS3Subfolders } from '../common/source/s3List.js';
import { readDumpFile, subfolderItems, type SourceItem } from './sources.js';
import { dbNow, finishRun, keysOf, lockDump, markListed, markMissing, previousRunStart, startRun, unlockDump } from './sql.js';
import { Batch, bulkLoader } from './bulk.js';
import { readSnapshot, type Snapshot } from './snapshot.js';

export interface DumpArgs {
  dumpFile?: string;
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
}

const SAMPLE = 10;
const MARK_CHUNK = 1000;
/** Bytes of LOAD DATA text per batch (two batches exist: one loading, one filling). */
const BATCH_BYTES = 4 << 20;

export async function run(ctx: Ctx, args: DumpArgs = {}): Promise<DumpSummary> {
  const { config, log, db } = ctx;
  const table = config.mysql_table;
  const batchSize = args.batchSize ?? 50_000;
  let source: AsyncIterable<SourceItem[]>;
  let sourceName: string;
  if (args.dumpFile) {
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
  let inflight: Promise<void> = Promise.resolve();
  try {
    await lockDump(conn, table);
    const runStart = await dbNow(db);
    s.runId = await startRun(db, table, runStart, sourceName);
    const snapshot = await readSnapshot(db, table);
    log.info('dump: starting', { source: sourceName, table, run_id: s.runId, rows_in_table: snapshot.size });
    const loader = bulkLoader(conn, table, runStart);

    // One batch loads while the other is filled. A failed load surfaces at the next await.
    const batches = [new Batch(BATCH_BYTES, batchSize), new Batch(BATCH_BYTES, batchSize)];
    let filling = 0;
    const flush = async (): Promise<void> => {
      await inflight; // the other batch is free again
      const full = batches[filling];
      if (!full.count) return;
      filling ^= 1;
      batches[filling].clear();
      inflight = loader.load(full).then((inserted) => {
        s.new += inserted;
        s.duplicates += full.count - inserted;
        progress.add({ new: inserted });
      });
      inflight.catch(() => undefined); // handled by the next await
    };
    const sha = Buffer.alloc(32);
    for await (const items of source) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
      for (const item of items) {
        if ('bad' in item) {
          s.badLines++;
          if (s.badLineSample.length < SAMPLE) s.badLineSample.push({ lineNo: item.lineNo, line: item.bad.slice(0, 200), why: item.why });
          log.warn('dump: line not loaded', { line_no: item.lineNo, why: item.why });
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
      progress.add({ scanned: items.length });
    }
    await flush();
    await inflight;
    s.scanned = s.new + s.existing;
    s.method = loader.method;

    // The whole listing was read: only now may rows count as missing.
    await reconcile(ctx, snapshot, s);
    await finishRun(db, s.runId, s);
  } finally {
    await inflight.catch(() => undefined); // never hand back a connection with a load still running on it
    progress.stop();
    await unlockDump(conn, table).catch(() => undefined);
    conn.release();
  }
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  if (s.vanished) log.warn('dump: subfolders in the table are gone from the source (kept, not deleted)', { vanished: s.vanished, sample: s.vanishedSample });
  return s;
}

/** Rows the run did not list become missing (stamped once); missing rows it listed become listed again. */
async function reconcile(ctx: Ctx, snapshot: Snapshot, s: DumpSummary): Promise<void> {
  const table = ctx.config.mysql_table;
  const wasMissing = new Set(snapshot.missing);
  const previous = await previousRunStart(ctx.db, table, s.runId);
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
  s.reappeared = await markListed(ctx.db, table, snapshot.missing.filter((i) => snapshot.isListed(i)).map((i) => snapshot.sha(i)));
  s.vanishedSample = await keysOf(ctx.db, table, sample);
}
