// The S3 Inventory index (sql/013_inventory.sql): the objects of the latest inventory dump, keyed by
// subfolder, and the per-subfolder counts it gives the state table. Written by `ott dump --inventory`,
// read by `ott publishObjectsList --from-inventory` one subfolder at a time (a primary-key range).
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import type { ObjectEntry } from '../common/messages.js';

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
 * (absent or an older run's) -> this run's: each object's row is inserted (first and changed run: this one),
 * or its size, ETag, class and time replaced and its run set to this one; changed_run_id becomes this run
 * only if the size or ETag differ (assigned first: MariaDB assigns left to right, so it still sees the old ones).
 */
export async function upsertInventoryObjects(db: Db, table: string, runId: number, rows: InventoryObject[]): Promise<void> {
  if (!rows.length) return;
  await db.query<ResultSetHeader>(
    `INSERT INTO ${inventoryTable(table)} (dir_key_sha, key_sha, obj_key, size, etag, storage_class, last_modified, dump_run_id, first_run_id, changed_run_id) VALUES ?
     ON DUPLICATE KEY UPDATE changed_run_id = IF(size <> VALUES(size) OR etag <> VALUES(etag), VALUES(dump_run_id), changed_run_id),
       size = VALUES(size), etag = VALUES(etag), storage_class = VALUES(storage_class), last_modified = VALUES(last_modified), dump_run_id = VALUES(dump_run_id)`,
    [rows.map((r) => [r.dirKeySha, r.keySha, r.key, r.size, r.etag, r.storageClass ?? null, r.lastModified, runId, runId, runId])],
  );
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
