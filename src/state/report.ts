// `ott report`'s own reads (src/ops/report/ renders them): every subfolder's row a page at a time for the
// CSV, and for the Markdown summary the throughput history's peaks (sql/012, sql/014) and the state table's
// span. The history's sums and the ledger by reason are history.ts's and ledger.ts's reads, shared with
// status. Reads only; no statement here writes.
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { BEST_KNOWN, ERROR_COLUMNS, lastError, PHASES } from './status.js';

/** One subfolder as the CSV shows it: its sides as status counts them, its counters, attempts, last error, times. */
export interface SubfolderRow {
  id: number;
  dirKey: string;
  phase: string;
  /** Where the S3/GCS figures come from: `measured` (a check or rsync), `inventory`, `listed` (publisher + copy counters), `none`. */
  source: string;
  s3Bytes: number | string;
  s3Objects: number | string;
  gcsBytes: number | string;
  gcsObjects: number | string;
  counters: Record<(typeof COUNTER_COLUMNS)[number], number | string | null>;
  lastErrorMode: string;
  lastError: string;
  times: Record<(typeof TIME_COLUMNS)[number], Date | null>;
}

/** Per-subfolder counters and attempts, as stored (column names are the CSV's headers). */
export const COUNTER_COLUMNS = [
  'published_objects', 'published_bytes', 'copied_objects', 'copied_bytes', 'skipped_objects', 'failed_objects', 'size_only_objects',
  'archived_objects', 'archived_bytes', 'unmigratable_objects', 'unmigratable_bytes', 'deep_missing', 'deep_different', 'deep_extra',
  'sync_check_frequency', 'rsync_frequency', 'rsync_attempts',
] as const;
export const TIME_COLUMNS = ['first_seen', 'cdn_published_at', 'sync_check_last_end', 'rsync_last_end', 'updated_at'] as const;

/** An error longer than this is cut in the CSV (a row stays bounded; the full text is on the row and the error topic). */
export const ERROR_TEXT_MAX = 2000;

/**
 * Subfolders with `id` > afterId, `limit` of them in id order: keyset pagination over the primary key, so
 * each page costs the same on row 10 and row 10 million (no OFFSET) and memory holds one page.
 */
export async function subfolderPage(db: Db, table: string, afterId: number, limit: number): Promise<SubfolderRow[]> {
  const k = BEST_KNOWN;
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id, dir_key, phase, ${k.source} AS source, ${k.s3Bytes} AS s3_bytes, ${k.s3Objects} AS s3_objects, ${k.gcsBytes} AS gcs_bytes, ${k.gcsObjects} AS gcs_objects,
       ${COUNTER_COLUMNS.join(', ')}, ${ERROR_COLUMNS}, ${TIME_COLUMNS.join(', ')}
     FROM ${tableName(table)} WHERE id > ? ORDER BY id LIMIT ?`,
    [afterId, limit],
  );
  return rows.map((r) => {
    const e = lastError(r);
    return {
      id: Number(r.id),
      dirKey: r.dir_key as string,
      phase: PHASES[Number(r.phase)] ?? String(r.phase),
      source: r.source as string,
      s3Bytes: num(r.s3_bytes),
      s3Objects: num(r.s3_objects),
      gcsBytes: num(r.gcs_bytes),
      gcsObjects: num(r.gcs_objects),
      counters: Object.fromEntries(COUNTER_COLUMNS.map((c) => [c, r[c] === null ? null : num(r[c])])) as SubfolderRow['counters'],
      lastErrorMode: e.mode,
      lastError: e.error.slice(0, ERROR_TEXT_MAX),
      times: Object.fromEntries(TIME_COLUMNS.map((c) => [c, (r[c] as Date | null) ?? null])) as SubfolderRow['times'],
    };
  });
}

/** A BIGINT as a number while exact, else its decimal string (never rounded). */
function num(v: unknown): number | string {
  const n = Number(v ?? 0);
  return Number.isSafeInteger(n) ? n : String(v);
}

export interface Peak {
  at: Date;
  seconds: number;
  copiedObjects: number;
  copiedBytes: number;
}

/**
 * One mode's busiest span by bytes copied, the whole fleet summed: per minute over the minute samples (the
 * last day: older ones are rolled up), or per hour over every row (minutes grouped into their hour). Null: no copy.
 */
export async function peakSpan(db: Db, table: string, mode: string, per: 'minute' | 'hour'): Promise<Peak | null> {
  const bucket = per === 'minute' ? 'bucket_at' : "DATE_FORMAT(bucket_at, '%Y-%m-%d %H:00:00')";
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT ${bucket} AS at, SUM(copied_objects) AS objects, SUM(copied_bytes) AS bytes FROM throughput_history FORCE INDEX (ix_history_at)
     WHERE state_table = ? AND mode = ? ${per === 'minute' ? 'AND span_seconds = 60' : ''} GROUP BY at HAVING bytes > 0 OR objects > 0 ORDER BY bytes DESC, objects DESC LIMIT 1`,
    [table, mode],
  );
  if (!rows.length) return null;
  const at = rows[0].at instanceof Date ? rows[0].at : new Date(`${String(rows[0].at).replace(' ', 'T')}Z`);
  return { at, seconds: per === 'minute' ? 60 : 3600, copiedObjects: Number(rows[0].objects), copiedBytes: Number(rows[0].bytes) };
}

export interface TableSpan {
  firstSeen: Date | null;
  lastUpdated: Date | null;
  syncChecks: number;
  rsyncs: number;
  subfoldersRsynced: number;
}

/** When the first subfolder was loaded, the last row change, and how many checks and rsyncs ran (one scan of the table). */
export async function tableSpan(db: Db, table: string): Promise<TableSpan> {
  const [[r]] = await db.query<RowDataPacket[]>(
    `SELECT MIN(first_seen) AS first_seen, MAX(updated_at) AS last_updated, SUM(sync_check_frequency) AS checks, SUM(rsync_frequency) AS rsyncs, SUM(rsync_frequency > 0) AS rsynced
     FROM ${tableName(table)}`,
  );
  return {
    firstSeen: (r.first_seen as Date | null) ?? null,
    lastUpdated: (r.last_updated as Date | null) ?? null,
    syncChecks: Number(r.checks ?? 0),
    rsyncs: Number(r.rsyncs ?? 0),
    subfoldersRsynced: Number(r.rsynced ?? 0),
  };
}
