// The S3 Inventory index (sql/013_inventory.sql): the objects of the latest inventory dump, keyed by
// subfolder, and the per-subfolder counts it gives the state table. Written by `ott dump --inventory`,
// read by `ott publishObjectsList --from-inventory` one subfolder at a time (a primary-key range).
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import type { ObjectEntry } from '../common/messages.js';
import { chunksOf } from './dump.js';

/** One object of an inventory, as indexed. */
export interface InventoryObject {
  dirKeySha: Buffer;
  keySha: Buffer;
  key: string;
  size: number;
  etag: string;
  storageClass?: string;
  lastModified: Date;
}

const inventoryTable = (table: string): string => tableName(`${table}_inventory`.slice(0, 64));

/** dump_runs.source of an inventory dump starts with this; the publisher checks it. */
export const INVENTORY_SOURCE = 'inventory ';

/**
 * What an object's row becomes when it is indexed again: size, ETag, class and time replaced and its run set
 * to this one; changed_run_id becomes this run only if the size or ETag differ (assigned first: MariaDB
 * assigns left to right, so it still sees the old ones). first_run_id stays the run that first indexed it.
 */
const reindexed = (t: string): string => `${t}.changed_run_id = IF(${t}.size <> VALUES(size) OR ${t}.etag <> VALUES(etag), VALUES(dump_run_id), ${t}.changed_run_id),
       ${t}.size = VALUES(size), ${t}.etag = VALUES(etag), ${t}.storage_class = VALUES(storage_class), ${t}.last_modified = VALUES(last_modified),
       ${t}.dump_run_id = VALUES(dump_run_id)`;

/**
 * (absent or an older run's) -> this run's: each object's row is inserted (first and changed run: this one),
 * or updated as reindexed() says. The multi-row INSERT path, for servers that refuse LOAD DATA LOCAL INFILE.
 */
export async function upsertInventoryObjects(db: Db | PoolConnection, table: string, runId: number, rows: InventoryObject[]): Promise<void> {
  if (!rows.length) return;
  await db.query<ResultSetHeader>(
    `INSERT INTO ${inventoryTable(table)} (dir_key_sha, key_sha, obj_key, size, etag, storage_class, last_modified, dump_run_id, first_run_id, changed_run_id) VALUES ?
     ON DUPLICATE KEY UPDATE ${reindexed(inventoryTable(table))}`,
    [rows.map((r) => [r.dirKeySha, r.keySha, r.key, r.size, r.etag, r.storageClass ?? null, r.lastModified, runId, runId, runId])],
  );
}

/**
 * The lines loadInventoryObjects reads: `dir-sha-hex TAB key-sha-hex TAB key TAB size TAB etag TAB class TAB
 * last-modified LF`, fields with MySQL's backslash escapes (src/dump/bulk.ts Batch), class empty when
 * unknown, last-modified `YYYY-MM-DD HH:MM:SS.mmm` in UTC.
 */
const INVENTORY_FORMAT =
  "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (@dir_sha, @key_sha, obj_key, size, etag, @class, last_modified) " +
  "SET dir_key_sha = UNHEX(@dir_sha), key_sha = UNHEX(@key_sha), storage_class = NULLIF(@class, '')";
/**
 * The connection's own staging table (TEMPORARY: per connection, gone with it; not part of the schema):
 * LOAD DATA cannot update rows, so a batch lands here first and one INSERT ... SELECT upserts it.
 */
const STAGE = 'ott_inventory_stage';

/**
 * (absent or an older run's) -> this run's, as upsertInventoryObjects, for a whole batch of `lines`
 * (INVENTORY_FORMAT): LOAD DATA LOCAL INFILE into the connection's staging table, then one INSERT ... SELECT
 * ... ON DUPLICATE KEY UPDATE into the index. Returns the lines loaded. Throws as the server does when it
 * refuses local infile (before any row was read). conn must be the same connection for every batch of a run.
 */
export async function loadInventoryObjects(conn: PoolConnection, table: string, runId: number, lines: Buffer): Promise<number> {
  await conn.query(
    `CREATE TEMPORARY TABLE IF NOT EXISTS ${STAGE} (
       dir_key_sha BINARY(32) NOT NULL, key_sha BINARY(32) NOT NULL, obj_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
       size BIGINT UNSIGNED NOT NULL, etag VARCHAR(128) CHARACTER SET ascii NOT NULL, storage_class VARCHAR(32) CHARACTER SET ascii NULL,
       last_modified DATETIME(3) NOT NULL
     ) ENGINE=InnoDB`,
  );
  await conn.query(`TRUNCATE TABLE ${STAGE}`);
  const [loaded] = await conn.query<ResultSetHeader>({
    sql: `LOAD DATA LOCAL INFILE 'inventory' INTO TABLE ${STAGE} CHARACTER SET utf8mb4 ${INVENTORY_FORMAT}`,
    infileStreamFactory: () => chunksOf(lines),
  });
  // Key order: the batch's rows go into the index's B-tree in order, not at random pages.
  await conn.query<ResultSetHeader>(
    `INSERT INTO ${inventoryTable(table)} (dir_key_sha, key_sha, obj_key, size, etag, storage_class, last_modified, dump_run_id, first_run_id, changed_run_id)
     SELECT s.dir_key_sha, s.key_sha, s.obj_key, s.size, s.etag, s.storage_class, s.last_modified, ?, ?, ? FROM ${STAGE} s ORDER BY s.dir_key_sha, s.key_sha
     ON DUPLICATE KEY UPDATE ${reindexed(inventoryTable(table))}`,
    [runId, runId, runId],
  );
  return loaded.affectedRows;
}

/** The connection's staging table -> gone (before the connection goes back to the pool). */
export async function dropInventoryStage(conn: PoolConnection): Promise<void> {
  await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${STAGE}`);
}

/** What this run's inventory changed against the index before it: objects new and changed (size or ETag). */
export async function inventoryChanges(db: Db, table: string, runId: number): Promise<{ new: number; changed: number }> {
  const [[r]] = await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n, COALESCE(SUM(first_run_id = ?), 0) AS fresh FROM ${inventoryTable(table)} WHERE changed_run_id = ?`, [runId, runId]);
  return { new: Number(r.fresh), changed: Number(r.n) - Number(r.fresh) };
}

/** A few keys an older run left (deleted since), for a report. */
export async function staleInventoryKeys(db: Db, table: string, runId: number, limit: number): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>(`SELECT obj_key FROM ${inventoryTable(table)} WHERE dump_run_id < ? ORDER BY dump_run_id LIMIT ${Number(limit)}`, [runId]);
  return rows.map((r) => r.obj_key as string);
}

/** The run whose inventory the index holds before this run loads (the one to compare with), if any. */
export async function indexedRun(db: Db, table: string): Promise<number | undefined> {
  const [[r]] = await db.query<RowDataPacket[]>(`SELECT MAX(dump_run_id) AS run FROM ${inventoryTable(table)}`);
  return r.run === null ? undefined : Number(r.run);
}

/** Rows an older run left (objects the newer inventory no longer lists) -> deleted, `limit` at a time. Returns rows deleted. */
export async function pruneInventoryObjects(db: Db, table: string, runId: number, limit: number): Promise<number> {
  const [r] = await db.query<ResultSetHeader>(`DELETE FROM ${inventoryTable(table)} WHERE dump_run_id < ? LIMIT ${Number(limit)}`, [runId]);
  return r.affectedRows;
}

/** The state table's id range, for counting in slices. */
export async function idRange(db: Db, table: string): Promise<{ lo: number; hi: number } | undefined> {
  const [[r]] = await db.query<RowDataPacket[]>(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${tableName(table)}`);
  return r.lo === null ? undefined : { lo: Number(r.lo), hi: Number(r.hi) };
}

/**
 * Rows with ids in (afterId, toId] -> counted: inventory_objects / inventory_bytes = what the index holds
 * under the subfolder (0 when the inventory lists nothing there), inventory_run_id = runId. Returns rows matched.
 */
export async function countInventoryIntoDirs(db: Db, table: string, runId: number, afterId: number, toId: number): Promise<number> {
  const t = tableName(table);
  const [r] = await db.query<ResultSetHeader>(
    `UPDATE ${t} s LEFT JOIN (
       SELECT i.dir_key_sha, COUNT(*) AS n, SUM(i.size) AS b FROM ${inventoryTable(table)} i
       JOIN ${t} d ON d.dir_key_sha = i.dir_key_sha WHERE d.id > ? AND d.id <= ? GROUP BY i.dir_key_sha
     ) x ON x.dir_key_sha = s.dir_key_sha
     SET s.inventory_objects = COALESCE(x.n, 0), s.inventory_bytes = COALESCE(x.b, 0), s.inventory_run_id = ?
     WHERE s.id > ? AND s.id <= ?`,
    [afterId, toId, runId, afterId, toId],
  );
  return r.affectedRows;
}

/** The latest complete dump of the table, if it read an inventory: its id and source. */
export async function latestInventoryDump(db: Db, table: string): Promise<{ runId: number; source: string } | undefined> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT id, source FROM dump_runs WHERE state_table = ? AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1', [table]);
  if (!r || !String(r.source).startsWith(INVENTORY_SOURCE)) return undefined;
  return { runId: Number(r.id), source: String(r.source) };
}

/** One page of a subfolder's indexed objects, after `afterKeySha` (key-hash order: a range of the primary key). */
export async function inventoryPage(db: Db, table: string, dirKeySha: Buffer, afterKeySha: Buffer, limit: number): Promise<{ entries: ObjectEntry[]; last?: Buffer }> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT key_sha, obj_key, size, etag, storage_class, last_modified FROM ${inventoryTable(table)}
     WHERE dir_key_sha = ? AND key_sha > ? ORDER BY key_sha LIMIT ${Number(limit)}`,
    [dirKeySha, afterKeySha],
  );
  const entries = rows.map(
    (r): ObjectEntry => ({
      key: r.obj_key as string,
      size: Number(r.size),
      etag: r.etag as string,
      last_modified: (r.last_modified as Date).toISOString(),
      ...(r.storage_class ? { storage_class: r.storage_class as string } : {}),
    }),
  );
  return { entries, last: rows.length ? (rows[rows.length - 1].key_sha as Buffer) : undefined };
}
