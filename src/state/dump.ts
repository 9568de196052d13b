// The dump's transitions (sql/README.md: absent -> new, listed <-> missing) and its runs in dump_runs.
// Keys are matched by their SHA-256, the unique index (dir_key_sha). A dump inserts only keys it did not
// find in the table: it reads the index in hash order a page at a time (readKeyPage) and merges it with
// the listing (src/dump/merge.ts) instead of sending every key.
import { hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Connection as CoreConnection } from 'mysql2';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

const IN_LIST = 1000;
const SHA_BYTES = 32;

/** The key's dir_key_sha. */
export function keySha(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

const LOCK = "CONCAT('ott_dump_', LEFT(SHA2(CONCAT(DATABASE(), '.', ?), 256), 40))";

/** One dump of a table at a time (server-wide named lock, per database and table); held by conn until it closes. */
export async function lockDump(conn: PoolConnection, table: string): Promise<void> {
  const [[r]] = await conn.query<RowDataPacket[]>(`SELECT GET_LOCK(${LOCK}, 0) AS ok`, [table]);
  if (r.ok !== 1) throw new Error(`dump: another dump of table ${table} is running; this one stops without changing anything`);
}

export async function unlockDump(conn: PoolConnection, table: string): Promise<void> {
  await conn.query(`SELECT RELEASE_LOCK(${LOCK})`, [table]);
}

/** (absent) -> started run: it counts as having listed anything only once finishDumpRun sets finished_at. Returns its id. */
export async function startDumpRun(db: Db, table: string, startedAt: Date, source: string): Promise<number> {
  const [r] = await db.query<ResultSetHeader>('INSERT INTO dump_runs (state_table, started_at, source) VALUES (?, ?, ?)', [table, startedAt, source.slice(0, 2048)]);
  return r.insertId;
}

/** The start of the latest complete run before runId: when the rows still listed then were last seen. */
export async function previousDumpStart(db: Db, table: string, runId: number): Promise<Date | null> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT MAX(started_at) AS at FROM dump_runs WHERE state_table = ? AND finished_at IS NOT NULL AND id < ?', [table, runId]);
  return (r.at as Date | null) ?? null;
}

/** started run -> complete, with its counts; a run already finished is left as it is. */
export async function finishDumpRun(db: Db, runId: number, s: { scanned: number; new: number; vanished: number; badLines: number }): Promise<void> {
  await db.query('UPDATE dump_runs SET finished_at = UTC_TIMESTAMP(6), scanned = ?, new_rows = ?, vanished = ?, bad_lines = ? WHERE id = ? AND finished_at IS NULL', [
    s.scanned,
    s.new,
    s.vanished,
    s.badLines,
    runId,
  ]);
}

/** (absent) -> new: initial_transfer = TRUE, unpublished; existing rows are untouched (IGNORE). Returns rows inserted. */
export async function insertNewDirs(db: Db | PoolConnection, table: string, rows: [key: string, sha: Buffer][], seenAt: Date): Promise<number> {
  const [r] = await db.query<ResultSetHeader>(`INSERT IGNORE INTO ${tableName(table)} (dir_key, dir_key_sha, first_seen) VALUES ?`, [rows.map(([k, sha]) => [k, sha, seenAt])]);
  return r.affectedRows;
}

/** The lines loadNewDirs reads: `key TAB sha-hex LF`, the key with MySQL's backslash escapes (src/dump/bulk.ts writes them). */
const FORMAT = "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (dir_key, @sha) SET dir_key_sha = UNHEX(@sha)";
/** LOAD DATA packets: mysql2 sends each chunk of the stream as one. */
const PACKET_BYTES = 1 << 16;

/** A LOAD DATA LOCAL INFILE body: `text` in packet-sized chunks (also the inventory index's loads, inventory.ts). */
export function chunksOf(text: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < text.length; i += PACKET_BYTES) yield text.subarray(i, i + PACKET_BYTES);
    })(),
    { objectMode: false },
  );
}

/**
 * (absent) -> new, as insertNewDirs, through LOAD DATA LOCAL INFILE IGNORE of `lines` (FORMAT above).
 * Returns rows inserted. Throws as the server does when it refuses local infile (MySQL 8's default).
 */
export async function loadNewDirs(conn: PoolConnection, table: string, lines: Buffer, seenAt: Date): Promise<number> {
  const [r] = await conn.query<ResultSetHeader>({
    sql: `LOAD DATA LOCAL INFILE 'batch' IGNORE INTO TABLE ${tableName(table)} CHARACTER SET utf8mb4 ${FORMAT}, first_seen = ?`,
    values: [seenAt],
    infileStreamFactory: () => chunksOf(lines),
  });
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
export async function markListedAgain(db: Db, table: string, shas: Buffer[]): Promise<number> {
  let changed = 0;
  for (let i = 0; i < shas.length; i += IN_LIST) {
    const [r] = await db.query<ResultSetHeader>(`UPDATE ${tableName(table)} SET last_seen = NULL WHERE dir_key_sha IN (?) AND last_seen IS NOT NULL`, [shas.slice(i, i + IN_LIST)]);
    changed += r.affectedRows;
  }
  return changed;
}

/** The keys of a few rows, oldest first, for a report. */
export async function dirKeysOf(db: Db, table: string, shas: Buffer[]): Promise<string[]> {
  if (!shas.length) return [];
  const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key FROM ${tableName(table)} WHERE dir_key_sha IN (?) ORDER BY id`, [shas]);
  return rows.map((r) => r.dir_key as string);
}

/**
 * One page of the table's hashes in [lo, hi) after `after` (exclusive), ascending, concatenated (32 bytes a
 * row): a range of the unique index, which covers the query, so no row is read. Null bounds are open.
 */
export async function readKeyPage(db: Db, table: string, r: { lo: Buffer | null; hi: Buffer | null; after: Buffer | null }, rows: number): Promise<Buffer> {
  const bounds: [string, Buffer | null][] = [r.after ? ['dir_key_sha > ?', r.after] : ['dir_key_sha >= ?', r.lo], ['dir_key_sha < ?', r.hi]];
  const where = bounds.filter(([, v]) => v).map(([w]) => w);
  const values = bounds.flatMap(([, v]) => (v ? [v] : []));
  const [page] = await db.query<RowDataPacket[]>({
    sql: `SELECT dir_key_sha FROM ${tableName(table)} FORCE INDEX (uq_dir_key_sha) ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY dir_key_sha LIMIT ${Number(rows)}`,
    values,
    rowsAsArray: true,
  });
  return Buffer.concat((page as unknown as [Buffer][]).map(([sha]) => sha), page.length * SHA_BYTES);
}

/**
 * The hashes of the rows marked missing (last_seen set, read through ix_last_seen), one call each as they
 * arrive: streamed row events, so none of them is held here, however many there are.
 */
export async function forEachMissingKey(db: Db, table: string, each: (sha: Buffer) => void): Promise<void> {
  const conn = await db.getConnection();
  try {
    await new Promise<void>((resolve, reject) => {
      (conn.connection as unknown as CoreConnection)
        .query({ sql: `SELECT dir_key_sha FROM ${tableName(table)} WHERE last_seen IS NOT NULL`, rowsAsArray: true })
        .on('result', (row) => each((row as unknown as [Buffer])[0]))
        .on('error', reject)
        .on('end', () => resolve());
    });
  } finally {
    conn.release();
  }
}
