// The dump's state transitions. Keys are matched by their SHA-256 (the unique index), computed here.
import { createHash } from 'node:crypto';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

export function keySha(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The database's clock at the start of a run: rows not stamped since are the vanished ones. */
export async function dbNow(db: Db): Promise<Date> {
  const [rows] = await db.query<RowDataPacket[]>('SELECT NOW(6) AS now');
  return rows[0].now as Date;
}

/** New subfolders enter as initial_transfer = TRUE, unpublished; existing rows are untouched. Returns rows inserted. */
export async function insertNew(db: Db, table: string, keys: string[], seenAt: Date): Promise<number> {
  const rows = keys.map((k) => [k, keySha(k), seenAt, seenAt]);
  const [r] = await db.query<ResultSetHeader>(`INSERT IGNORE INTO ${tableName(table)} (dir_key, dir_key_sha, first_seen, last_seen) VALUES ?`, [rows]);
  return r.affectedRows;
}

/** Stamps last_seen on subfolders that are still there; nothing else about them changes. */
export async function stampSeen(db: Db, table: string, keys: string[], seenAt: Date): Promise<void> {
  await db.query(`UPDATE ${tableName(table)} SET last_seen = ? WHERE dir_key_sha IN (?) AND last_seen < ?`, [seenAt, keys.map(keySha), seenAt]);
}

/** Subfolders the table knows but this run did not see: reported, never deleted. */
export async function vanished(db: Db, table: string, runStart: Date, sampleSize: number): Promise<{ count: number; sample: string[] }> {
  const t = tableName(table);
  const [[c]] = await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t} WHERE last_seen < ?`, [runStart]);
  const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key FROM ${t} WHERE last_seen < ? ORDER BY id LIMIT ?`, [runStart, sampleSize]);
  return { count: Number(c.n), sample: rows.map((r) => r.dir_key as string) };
}
