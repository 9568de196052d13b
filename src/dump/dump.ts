// Mode `dump`: loads the subfolders under s3_root_prefix into the state table. Only new subfolders are
// inserted (the reference's delta dump); existing rows only get a last_seen stamp; subfolders gone from
// S3 are reported, never deleted. Restartable and idempotent: a second run changes nothing but stamps.
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { startProgress } from '../common/progress.js';
import { listSubfoldersFromS3, readDumpFile, type SourceItem } from './sources.js';
import { dbNow, vanished } from './sql.js';
import { openBulkLoader } from './bulk.js';

export interface DumpArgs {
  dumpFile?: string;
  batchSize?: number;
}

export interface DumpSummary {
  source: string;
  scanned: number;
  new: number;
  existing: number;
  vanished: number;
  vanishedSample: string[];
  badLines: number;
  badLineSample: { lineNo: number; line: string; why: string }[];
  seconds: number;
  method?: string;
}

const SAMPLE = 10;

export async function run(ctx: Ctx, args: DumpArgs = {}): Promise<DumpSummary> {
  const { config, log } = ctx;
  const batchSize = args.batchSize ?? 20_000;
  let source: AsyncIterable<SourceItem>;
  let sourceName: string;
  if (args.dumpFile) {
    source = readDumpFile(args.dumpFile, config.s3_root_prefix);
    sourceName = `file ${args.dumpFile}`;
  } else {
    requireFields(config, 'dump', ['s3_bucket']);
    source = listSubfoldersFromS3(ctx.clients.s3(), config.s3_bucket!, config.s3_root_prefix, ctx.signal, { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms });
    sourceName = `s3://${config.s3_bucket}/${config.s3_root_prefix}`;
  }
  const started = Date.now();
  const runStart = await dbNow(ctx.db);
  const s: DumpSummary = { source: sourceName, scanned: 0, new: 0, existing: 0, vanished: 0, vanishedSample: [], badLines: 0, badLineSample: [], seconds: 0 };
  const progress = startProgress(log, 'dump', { rateKey: 'scanned' });
  const loader = await openBulkLoader(ctx.db, config.mysql_table, runStart);
  log.info('dump: starting', { source: sourceName, table: config.mysql_table });

  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    // A dump file may list a subfolder twice; count each once.
    const keys = [...new Set(batch)];
    batch = [];
    const inserted = await loader.load(keys);
    s.new += inserted;
    s.existing += keys.length - inserted;
    s.scanned += keys.length;
    progress.add({ scanned: keys.length, new: inserted });
  };
  try {
    for await (const item of source) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
      if ('bad' in item) {
        s.badLines++;
        if (s.badLineSample.length < SAMPLE) s.badLineSample.push({ lineNo: item.lineNo, line: item.bad.slice(0, 200), why: item.why });
        log.warn('dump: line not loaded', { line_no: item.lineNo, why: item.why });
        continue;
      }
      batch.push(item.dirKey);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    progress.stop();
    await loader.close();
  }
  s.method = loader.method;
  const gone = await vanished(ctx.db, config.mysql_table, runStart, SAMPLE);
  s.vanished = gone.count;
  s.vanishedSample = gone.sample;
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  if (s.vanished) log.warn('dump: subfolders in the table are gone from the source (kept, not deleted)', { vanished: s.vanished, sample: s.vanishedSample });
  return s;
}
