// `ott migrate --adopt`: a state table made by the reference design's CREATE TABLE (dir_key PRIMARY KEY
// and its 16 other columns) becomes ours in place, so a migration the reference started goes on under
// ott. Without --adopt, migrate refuses such a table with this explanation instead of failing half-way
// (001 would skip it, as it exists, and 002 would index columns it lacks).
import { readFile } from 'node:fs/promises';
import type { PoolConnection } from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';

/** What the reference's rows held when they were adopted: every value is kept, these say what waits. */
export interface Adopted {
  rows: number;
  /** Rows flagged published by the reference: its queues hold their messages, not ours. */
  published: { cdn: number; syncCheck: number; rsync: number };
  /** The reference's bare *_in_progress flags (no owner, no lease): free for the next claim. */
  inProgress: { syncCheck: number; rsync: number };
}

type TableShape = 'absent' | 'ours' | 'reference' | 'reference-half-adopted';

/** Where `table` stands: none, ours (has dir_key_sha and id), the reference's, or step 1 of an adoption done. */
export async function tableShape(conn: PoolConnection, table: string): Promise<TableShape> {
  const [cols] = (await conn.query('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [table])) as unknown as [RowDataPacket[]];
  const names = new Set(cols.map((r) => r.c as string));
  if (names.size === 0) return 'absent';
  if (!names.has('id') && names.has('dir_key') && !names.has('dir_key_sha')) return 'reference';
  const [keys] = (await conn.query('SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1', [table, 'uq_dir_key_sha'])) as unknown as [RowDataPacket[]];
  return keys.length ? 'ours' : 'reference-half-adopted';
}

export class ReferenceTableError extends Error {
  constructor(table: string, rows: number) {
    super(
      `table ${table} was not made by ott migrate: it has the reference design's columns (dir_key primary key, no id or dir_key_sha) and ${rows} row(s). ` +
        'Stop the reference\'s processes, then run `ott migrate --adopt` to convert it in place (every row, flag, size, time and frequency kept); nothing was changed.',
    );
    this.name = 'ReferenceTableError';
  }
}

async function count(conn: PoolConnection, table: string, where = 'TRUE'): Promise<number> {
  const [[r]] = (await conn.query(`SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${where}`)) as unknown as [RowDataPacket[]];
  return Number(r.n);
}

/** Counts the reference's states, then runs the adoption steps still to do (sql/adopt/, in order). */
export async function adoptReference(conn: PoolConnection, table: string, sqlDir: string, run: (sql: string) => Promise<void>): Promise<Adopted> {
  const adopted: Adopted = {
    rows: await count(conn, table),
    published: {
      cdn: await count(conn, table, 'cdn_transfer_published'),
      syncCheck: await count(conn, table, 'sync_check_published'),
      rsync: await count(conn, table, 'rsync_published'),
    },
    inProgress: { syncCheck: await count(conn, table, 'sync_check_in_progress'), rsync: await count(conn, table, 'rsync_in_progress') },
  };
  const step = async (file: string): Promise<void> => run((await readFile(`${sqlDir}/adopt/${file}`, 'utf8')).replaceAll('{{table}}', table));
  if ((await tableShape(conn, table)) === 'reference') await step('1_reference_columns.sql');
  await step('2_reference_keys.sql');
  return adopted;
}
