// The dump's state transitions. Keys are matched by their SHA-256 (the unique index), computed here.
import { hash } from 'node:crypto';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

const IN_LIST = 1000;

export function keySha(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/** The database's clock at the start of a run: first_seen of the rows it inserts, started_at of its record. */
export async function dbNow(db: Db): Promise<Date> {
  const [rows] = await db.query<RowDataPacket[]>('SELECT NOW(6) AS now');
  return rows[0].now as Date;
}

/** One dump of a table at a time (server-wide named lock, per database and table); held by conn until it closes. */
export async function lockDump(conn: PoolConnection, table: string): Promise<void> {
  const [[r]] = await conn.query<RowDataPacket[]>("SELECT GET_LOCK(CONCAT('ott_dump_', LEFT(SHA2(CONCAT(DATABASE(), '.', ?), 256), 40)), 0) AS ok", [table]);
  if (r.ok !== 1) throw new Error(`dump: another dump of table ${table} is running; this one stops without changing anything`);
}

export async function unlockDump(conn: PoolConnection, table: string): Promise<void> {
  await conn.query("SELECT RELEASE_LOCK(CONCAT('ott_dump_', LEFT(SHA2(CONCAT(DATABASE(), '.', ?), 256), 40)))", [table]);
}

/** Records a run as started; it counts as having listed anything only once finishRun sets finished_at. */
export async function startRun(db: Db, table: string, startedAt: Date, source: string): Promise<number> {
  const [r] = await db.query<ResultSetHeader>('INSERT INTO dump_runs (state_table, started_at, source) VALUES (?, ?, ?)', [table, startedAt, source.slice(0, 2048)]);
  return r.insertId;
}

/** The start of the latest complete run before runId: when the rows still listed then were last seen. */
export async function previousRunStart(db: Db, table: string, runId: number): Promise<Date | null> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT MAX(started_at) AS at FROM dump_runs WHERE state_table = ? AND finished_at IS NOT NULL AND id < ?', [table, runId]);
  return (r.at as Date | null) ?? null;
}

export async function finishRun(db: Db, runId: number, s: { scanned: number; new: number; vanished: number; badLines: number }): Promise<void> {
  await db.query('UPDATE dump_runs SET finished_at = NOW(6), scanned = ?, new_rows = ?, vanished = ?, bad_lines = ? WHERE id = ? AND finished_at IS NULL', [s.scanned, s.new, s.vanished, s.badLines, runId]);
}

/** New subfolders enter as initial_transfer = TRUE, unpublished; existing rows are untouched. Returns rows inserted. */
export async function insertNew(db: Db | PoolConnection, table: string, rows: [key: string, sha: Buffer][], seenAt: Date): Promise<number> {
  const [r] = await db.query<ResultSetHeader>(`INSERT IGNORE INTO ${tableName(table)} (dir_key, dir_key_sha, first_seen) VALUES ?`, [rows.map(([k, sha]) => [k, sha, seenAt])]);
  return r.affectedRows;
}

/**
 * Listed (last_seen NULL) -> missing: last_seen becomes the last time a complete dump listed it, the later of
 * its first listing and the previous complete run. Rows already missing keep their stamp. Returns rows changed.
 */
export async function markMissing(db: Db, table: string, shas: Buffer[], previousRun: Date | null): Promise<number> {
  let changed = 0;
  for (let i = 0; i < shas.length; i += IN_LIST) {
    const [r] = await db.query<ResultSetHeader>(`UPDATE ${tableName(table)} SET last_seen = GREATEST(first_seen, ?) WHERE dir_key_sha IN (?) AND last_seen IS NULL`, [
      previousRun ?? new Date(0),
      shas.slice(i, i + IN_LIST),
    ]);
    changed += r.affectedRows;
  }
  return changed;
}

/** Missing -> listed again (last_seen NULL): the subfolder is back in S3. Returns rows changed. */
export async function markListed(db: Db, table: string, shas: Buffer[]): Promise<number> {
  let changed = 0;
  for (let i = 0; i < shas.length; i += IN_LIST) {
    const [r] = await db.query<ResultSetHeader>(`UPDATE ${tableName(table)} SET last_seen = NULL WHERE dir_key_sha IN (?) AND last_seen IS NOT NULL`, [shas.slice(i, i + IN_LIST)]);
    changed += r.affectedRows;
  }
  return changed;
}

/** The keys of a few rows, oldest first, for a report. */
export async function keysOf(db: Db, table: string, shas: Buffer[]): Promise<string[]> {
  if (!shas.length) return [];
  const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key FROM ${tableName(table)} WHERE dir_key_sha IN (?) ORDER BY id`, [shas]);
  return rows.map((r) => r.dir_key as string);
}
