// Throughput history (sql/012 throughput_history): what each worker did per minute, written on its
// heartbeat (src/worker/history.ts), rolled up per hour after a day, read by `ott status` for rates and an
// ETA that survive restarts. The clock is the database's: a sample lands in the minute MySQL says it is.
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';

export interface Activity {
  copiedObjects: number;
  copiedBytes: number;
  skippedObjects: number;
  skippedBytes: number;
  failedObjects: number;
  /** Of the failed, objects archived in S3 (reason class `archived`). */
  archivedObjects: number;
  /** Of the copied, by how the copy was verified (sql/014; VerifiedBy in src/worker/copy/verify.ts). */
  verifiedMd5Objects: number;
  verifiedMultipartObjects: number;
  verifiedCrcObjects: number;
  verifiedSizeOnlyObjects: number;
}

export const ACTIVITY_COLUMNS = [
  'copied_objects', 'copied_bytes', 'skipped_objects', 'skipped_bytes', 'failed_objects', 'archived_objects',
  'verified_md5_objects', 'verified_multipart_objects', 'verified_crc_objects', 'verified_size_only_objects',
] as const;
const FIELDS = [
  'copiedObjects', 'copiedBytes', 'skippedObjects', 'skippedBytes', 'failedObjects', 'archivedObjects',
  'verifiedMd5Objects', 'verifiedMultipartObjects', 'verifiedCrcObjects', 'verifiedSizeOnlyObjects',
] as const satisfies readonly (keyof Activity)[];

export const noActivity = (): Activity => Object.fromEntries(FIELDS.map((f) => [f, 0])) as unknown as Activity;

/** Activity from a row of ACTIVITY_COLUMNS sums (SUM() of BIGINT comes back as a DECIMAL string). */
export function activityOf(r: Record<string, unknown>): Activity {
  const a = noActivity();
  FIELDS.forEach((f, i) => (a[f] = Number(r[ACTIVITY_COLUMNS[i]] ?? 0)));
  return a;
}

/** The minutes after which samples are rolled up per hour. */
export const MINUTE_SAMPLES_KEPT_SECONDS = 24 * 3600;

/**
 * (absent | this minute's sample) -> the sample grown by `a`: one worker's activity since its last
 * sample, added to the current minute's row (span 60 s, the database's minute).
 */
export async function addSample(db: Db, table: string, w: { mode: string; workerId: string; host: string }, a: Activity): Promise<void> {
  await db.query(
    `INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, ${ACTIVITY_COLUMNS.join(', ')})
     VALUES (?, 60, DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:00'), ?, ?, ?, ${FIELDS.map(() => '?').join(', ')})
     ON DUPLICATE KEY UPDATE ${ACTIVITY_COLUMNS.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ')}`,
    [table, w.mode, w.workerId, w.host, ...FIELDS.map((f) => a[f])],
  );
}

/**
 * minute samples older than a day -> one hour row per (hour, mode, worker), summed into any hour row already
 * there (a late minute is added, not lost); then those minutes are deleted. One transaction: a concurrent
 * roll-up deadlocks or waits and finds nothing left, so nothing is counted twice. The cut is a whole hour,
 * so an hour is rolled up from all its minutes. Returns the minute rows rolled up.
 */
export async function rollUpHistory(db: Db, table: string): Promise<number> {
  const conn = await db.getConnection();
  try {
    await conn.beginTransaction();
    try {
      const cut = `DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL ${MINUTE_SAMPLES_KEPT_SECONDS} SECOND, '%Y-%m-%d %H:00:00')`;
      await conn.query(
        `INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, ${ACTIVITY_COLUMNS.join(', ')})
         SELECT state_table, 3600, DATE_FORMAT(bucket_at, '%Y-%m-%d %H:00:00') AS hour_at, mode, worker_id, MAX(host), ${ACTIVITY_COLUMNS.map((c) => `SUM(${c})`).join(', ')}
         FROM throughput_history WHERE state_table = ? AND span_seconds = 60 AND bucket_at < ${cut} GROUP BY state_table, hour_at, mode, worker_id
         ON DUPLICATE KEY UPDATE ${ACTIVITY_COLUMNS.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ')}`,
        [table],
      );
      const [del] = await conn.query<ResultSetHeader>(`DELETE FROM throughput_history WHERE state_table = ? AND span_seconds = 60 AND bucket_at < ${cut}`, [table]);
      await conn.commit();
      return del.affectedRows;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    }
  } finally {
    conn.release();
  }
}

export interface HistorySums {
  mode: string;
  /** With `perWorker`: the worker, and the host it last reported from. */
  workerId?: string;
  host?: string;
  activity: Activity;
  /** The first sample's start, and the end of the last sample's span. */
  firstAt: Date | null;
  lastAt: Date | null;
  /** From the first sample's start to now, by the database's clock (a rate's span). */
  sinceFirstSeconds: number;
}

/**
 * The one read of activity summed over the history, per mode, and per worker when `perWorker`: with
 * `windowSeconds`, the minute samples of that last stretch (status's rates); without, everything the
 * history holds, minute and hour rows together (a rolled-up hour replaced its minutes: the report).
 * One range of ix_history_at, bounded by workers x buckets.
 */
export async function historySums(db: Db, table: string, opts: { windowSeconds?: number; perWorker?: boolean } = {}): Promise<HistorySums[]> {
  const by = opts.perWorker ? 'mode, worker_id' : 'mode';
  const window = opts.windowSeconds === undefined ? '' : 'AND bucket_at >= UTC_TIMESTAMP() - INTERVAL ? SECOND AND span_seconds = 60';
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT ${by}, MAX(host) AS host, ${ACTIVITY_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ')},
       MIN(bucket_at) AS first_at, MAX(bucket_at + INTERVAL span_seconds SECOND) AS last_at, TIMESTAMPDIFF(SECOND, MIN(bucket_at), UTC_TIMESTAMP()) AS since_first
     FROM throughput_history FORCE INDEX (ix_history_at)
     WHERE state_table = ? ${window} GROUP BY ${by} ORDER BY ${by}`,
    opts.windowSeconds === undefined ? [table] : [table, opts.windowSeconds],
  );
  return rows.map((r) => ({
    mode: r.mode as string,
    ...(opts.perWorker ? { workerId: r.worker_id as string, host: r.host as string } : {}),
    activity: activityOf(r),
    firstAt: (r.first_at as Date | null) ?? null,
    lastAt: (r.last_at as Date | null) ?? null,
    sinceFirstSeconds: Number(r.since_first),
  }));
}

export interface HistoryBucket extends Activity {
  /** The bucket's start (UTC), a minute or an hour. */
  at: Date;
  mode: string;
}

/**
 * The fleet's activity per `spanSeconds` bucket (60: minute samples; 3600: hours, from the rolled-up hour
 * rows and the minutes not rolled up yet, so an hour reads the same before and after its roll-up) over the
 * last `windowSeconds`, summed over workers, per mode, oldest first; and the database's clock, which the
 * charts' right edge and the current bucket's elapsed time come from. One range of ix_history_at: bounded
 * by workers x buckets, never by objects.
 */
export async function historySeries(db: Db, table: string, spanSeconds: 60 | 3600, windowSeconds: number): Promise<{ now: Date; buckets: HistoryBucket[] }> {
  const at = spanSeconds === 60 ? 'bucket_at' : "DATE_FORMAT(bucket_at, '%Y-%m-%d %H:00:00')";
  // Minute buckets from minute rows only: an hour row spans minutes it cannot be split into.
  const spans = spanSeconds === 60 ? 'AND span_seconds = 60' : '';
  const [[clock], [rows]] = await Promise.all([
    db.query<RowDataPacket[]>('SELECT UTC_TIMESTAMP() AS now'),
    db.query<RowDataPacket[]>(
      `SELECT CAST(${at} AS DATETIME) AS at, mode, ${ACTIVITY_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(', ')}
       FROM throughput_history FORCE INDEX (ix_history_at)
       WHERE state_table = ? AND bucket_at >= UTC_TIMESTAMP() - INTERVAL ? SECOND ${spans} GROUP BY 1, mode ORDER BY 1, mode`,
      [table, windowSeconds],
    ),
  ]);
  const buckets = rows.map((r) => ({ at: r.at as Date, mode: r.mode as string, ...activityOf(r) }));
  return { now: clock[0].now as Date, buckets };
}
