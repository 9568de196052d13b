// The per-phase totals `ott status` shows, kept by the state table's triggers (sql/015) in `<table>_totals`:
// one row per (writer connection, phase), summed here. A read costs the same at 10 k and 10 M subfolders.
// Two writes, both here: the recount (every row summed once, when a table has no base yet or on
// `ott status --recount`) and the fold (rows of closed connections added into the base, so the table stays
// a few rows per live connection).
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { withRetry } from '../common/retry.js';

/** Phase number of the marker row (conn 0) that says the table's totals were recounted (sql/015). */
const RECOUNTED = 255;
/** Fold closed connections' rows into the base once there are more rows than this (a few per live connection). */
export const FOLD_AFTER_ROWS = 512;

export interface PhaseSums {
  phase: number;
  subfolders: number;
  s3Bytes: number;
  gcsBytes: number;
  s3Objects: number;
  gcsObjects: number;
  /** The publisher's gate's sums (src/state/pace.ts publishedAndDone): published for copying, and copied + skipped + failed. */
  publishedObjects: number;
  publishedBytes: number;
  doneObjects: number;
}

export interface TotalsRead {
  phases: PhaseSums[];
  /** When the base was last recounted from every row. */
  recountedAt: Date;
  /** Whether this read had to recount first (a table without a base). */
  recounted: boolean;
}

const totalsTable = (table: string): string => tableName(`${table}_totals`);
/** The summed columns of a totals row besides `subfolders`, as the recount reads them from the state table's rows. */
const SUMS = ['s3_bytes', 'gcs_bytes', 's3_objects', 'gcs_objects', 'published_objects', 'published_bytes', 'done_objects'] as const;
/** SUM() of BIGINT comes back as a DECIMAL string; exact while < 2^53. */
const n = (v: unknown): number => Number(v ?? 0);

/**
 * The phases' sums, from the kept totals: recounted first when the table has no base (one full read, once),
 * and closed connections' rows folded into the base when they pile up. One consistent read: exact, never ahead
 * of the rows (a change and its totals commit together).
 */
export async function readTotals(db: Db, table: string): Promise<TotalsRead> {
  let recounted = false;
  let read = await sumTotals(db, table);
  if (!read.recountedAt) {
    recounted = (await recountTotals(db, table, { onlyWithoutBase: true })) !== null;
    read = await sumTotals(db, table);
    if (!read.recountedAt) throw new Error(`${table}_totals: no base after a recount`);
  }
  if (read.rows > FOLD_AFTER_ROWS) await foldClosedConnections(db, table);
  return { phases: read.phases, recountedAt: read.recountedAt, recounted };
}

async function sumTotals(db: Db, table: string): Promise<{ phases: PhaseSums[]; recountedAt: Date | null; rows: number }> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT phase, COUNT(*) AS n_rows, SUM(subfolders) AS subfolders, ${SUMS.map((c) => `SUM(${c}) AS ${c}`).join(', ')}, MAX(recounted_at) AS recounted_at
     FROM ${totalsTable(table)} GROUP BY phase`,
  );
  const marker = rows.find((r) => n(r.phase) === RECOUNTED);
  return {
    phases: rows
      .filter((r) => n(r.phase) !== RECOUNTED)
      .map((r) => ({
        phase: n(r.phase),
        subfolders: n(r.subfolders),
        s3Bytes: n(r.s3_bytes),
        gcsBytes: n(r.gcs_bytes),
        s3Objects: n(r.s3_objects),
        gcsObjects: n(r.gcs_objects),
        publishedObjects: n(r.published_objects),
        publishedBytes: n(r.published_bytes),
        doneObjects: n(r.done_objects),
      })),
    recountedAt: (marker?.recounted_at as Date | null) ?? null,
    rows: rows.reduce((a, r) => a + n(r.n_rows), 0),
  };
}

/** A recount rolled back by a deadlock with a writer is tried again, a few times within a minute. */
const RECOUNT_RETRY = { maxAttempts: 5, budgetMs: 60_000 };

/**
 * any totals -> the base: every row of the state table summed per phase, replacing what the triggers kept.
 * Every totals row is locked first (and the gaps between them), so a writer's trigger waits until the new
 * base commits; the rows are then summed from a snapshot taken after that lock: a change committed before
 * is in the sums, a change still waiting adds its own contribution after. Writers wait for the length of
 * one full read of the table (seconds at 10 M rows): for `--recount` and a table's first status only.
 * With `onlyWithoutBase`, a recount whose turn came after another status counted the table does nothing.
 * Returns the milliseconds the sum took, or null when it did not run.
 */
export async function recountTotals(db: Db, table: string, opts: { onlyWithoutBase?: boolean } = {}): Promise<number | null> {
  const ms = await inTurn(db, table, 300, async (conn) => {
    if (opts.onlyWithoutBase) {
      const [[has]] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${totalsTable(table)} WHERE conn = 0 AND phase = ${RECOUNTED}`);
      if (n(has.n) > 0) return null;
    }
    // Its gap locks can meet a writer's trigger inserting a totals row: InnoDB then rolls one of them back
    // (a deadlock). Rolled back whole, the recount is tried again (this is its one retry layer).
    return withRetry(() => inTransaction(conn, 'REPEATABLE READ', async () => {
      await conn.query(`SELECT COUNT(*) FROM ${totalsTable(table)} FOR UPDATE`);
      const t = performance.now();
      const [sums] = await conn.query<RowDataPacket[]>(
        `SELECT phase, COUNT(*) AS subfolders, SUM(best_s3_bytes) AS s3_bytes, SUM(best_gcs_bytes) AS gcs_bytes, SUM(best_s3_objects) AS s3_objects, SUM(best_gcs_objects) AS gcs_objects,
           SUM(published_objects) AS published_objects, SUM(published_bytes) AS published_bytes, SUM(copied_objects + skipped_objects + failed_objects) AS done_objects
         FROM ${tableName(table)} GROUP BY phase`,
      );
      const ms = performance.now() - t;
      await conn.query(`DELETE FROM ${totalsTable(table)}`);
      const values: (string | number | Date | null)[][] = sums.map((r) => [0, n(r.phase), n(r.subfolders), ...SUMS.map((c) => String(r[c] ?? 0)), null]);
      values.push([0, RECOUNTED, 0, ...SUMS.map(() => '0'), new Date()]);
      await conn.query(`INSERT INTO ${totalsTable(table)} (conn, phase, subfolders, ${SUMS.join(', ')}, recounted_at) VALUES ?`, [values]);
      return ms;
    }), RECOUNT_RETRY);
  });
  return ms ?? null;
}

/**
 * rows of closed connections -> added into the base (conn 0) and deleted. A closed connection writes no
 * more, so nothing waits on them; READ COMMITTED locks only those rows, no gaps, so a live writer adding
 * its first row is not held either. A connection this session cannot see in the process list (another
 * MySQL user, without the PROCESS privilege) may be live: folding it is still exact (its row is locked,
 * moved and deleted in one transaction; its next change starts a new row), it only waits on that writer.
 * A fold that would wait for its turn is skipped (the next status folds). Returns the rows folded.
 */
export async function foldClosedConnections(db: Db, table: string): Promise<number> {
  const folded = await inTurn(db, table, 0, (conn) =>
    inTransaction(conn, 'READ COMMITTED', async () => {
      const [closed] = await conn.query<RowDataPacket[]>(
        `SELECT DISTINCT conn FROM ${totalsTable(table)} WHERE conn <> 0 AND conn NOT IN (SELECT ID FROM information_schema.PROCESSLIST)`,
      );
      if (!closed.length) return 0;
      const ids = closed.map((r) => n(r.conn));
      const cols = ['subfolders', ...SUMS];
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT phase, ${cols.map((c) => `SUM(${c}) AS ${c}`).join(', ')} FROM ${totalsTable(table)} WHERE conn IN (?) GROUP BY phase FOR UPDATE`,
        [ids],
      );
      for (const r of rows) {
        await conn.query(
          `INSERT INTO ${totalsTable(table)} (conn, phase, ${cols.join(', ')}) VALUES (0, ?, ${cols.map(() => '?').join(', ')})
           ON DUPLICATE KEY UPDATE ${cols.map((c) => `${c} = ${c} + VALUES(${c})`).join(', ')}`,
          [n(r.phase), ...cols.map((c) => String(r[c]))],
        );
      }
      const [del] = await conn.query<ResultSetHeader>(`DELETE FROM ${totalsTable(table)} WHERE conn IN (?)`, [ids]);
      return del.affectedRows;
    }),
  );
  return folded ?? 0;
}

/**
 * Recounts and folds of one table take turns on a named lock: two recounts would deadlock on the same gap,
 * and a recount holding the base rows while a fold holds a closed connection's would too. Named locks are
 * per server, so the name holds the database. Runs `fn` on the connection holding the turn; with
 * `waitSeconds` 0 it returns undefined when the turn is taken.
 */
async function inTurn<T>(db: Db, table: string, waitSeconds: number, fn: (conn: PoolConnection) => Promise<T>): Promise<T | undefined> {
  const name = "CONCAT('ott_totals_', LEFT(SHA2(CONCAT(DATABASE(), '.', ?), 256), 40))";
  const conn = await db.getConnection();
  try {
    const [[got]] = await conn.query<RowDataPacket[]>(`SELECT GET_LOCK(${name}, ?) AS ok`, [table, waitSeconds]);
    if (n(got.ok) !== 1) {
      if (waitSeconds === 0) return undefined;
      throw new Error(`${table}_totals: another recount held its turn for ${waitSeconds} s`);
    }
    try {
      return await fn(conn);
    } finally {
      await conn.query(`SELECT RELEASE_LOCK(${name})`, [table]).catch(() => undefined);
    }
  } finally {
    conn.release();
  }
}

async function inTransaction<T>(conn: PoolConnection, isolation: 'REPEATABLE READ' | 'READ COMMITTED', fn: () => Promise<T>): Promise<T> {
  // For the next transaction only: the pooled connection keeps the server's default afterwards.
  await conn.query(`SET TRANSACTION ISOLATION LEVEL ${isolation}`);
  await conn.beginTransaction();
  try {
    const r = await fn();
    await conn.commit();
    return r;
  } catch (err) {
    await conn.rollback().catch(() => undefined);
    throw err;
  }
}
