// `ott estimate`'s reads: what the table already knows of the source's size, and a spread sample of the
// subfolders it does not know yet. Read-only.
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

/** A subfolder's size is known once syncCheck/rsync measured it, or the publisher listed it. */
const KNOWN = '(s3_objects > 0 OR gcs_objects > 0 OR published_objects > 0)';

export interface KnownSizes {
  subfolders: number;
  knownSubfolders: number;
  knownObjects: number;
  knownBytes: number;
}

const num = (v: unknown): number => Number(v ?? 0);

/** One pass over the table: how many subfolders, and the objects and bytes of those already listed. */
export async function knownSizes(db: Db, table: string): Promise<KnownSizes> {
  const [[r]] = await db.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS subfolders, SUM(${KNOWN}) AS known,
       SUM(IF(${KNOWN}, IF(s3_objects + gcs_objects > 0, s3_objects, published_objects), 0)) AS objects,
       SUM(IF(${KNOWN}, IF(s3_objects + gcs_objects > 0, s3_size, published_bytes), 0)) AS bytes
     FROM ${tableName(table)}`,
  );
  return { subfolders: num(r.subfolders), knownSubfolders: num(r.known), knownObjects: num(r.objects), knownBytes: num(r.bytes) };
}

/**
 * Up to `count` distinct subfolders of unknown size, spread over the table: for random points between the
 * lowest and highest id, the first unknown row at or after it (primary-key lookups, no scan, no sort).
 * `exclude` keys (the root's own row, listed differently) are never picked.
 */
export async function sampleUnknown(db: Db, table: string, count: number, exclude: string[], random: () => number = Math.random): Promise<string[]> {
  const t = tableName(table);
  const [[range]] = await db.query<RowDataPacket[]>(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${t}`);
  if (range.lo === null || count <= 0) return [];
  const lo = num(range.lo);
  const hi = num(range.hi);
  const picked = new Set<string>();
  // A few more tries than picks: random points can land on the same next row.
  for (let i = 0; i < count * 4 && picked.size < count; i++) {
    const from = lo + Math.floor(random() * (hi - lo + 1));
    const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key FROM ${t} WHERE id >= ? AND NOT ${KNOWN} ORDER BY id LIMIT ${exclude.length + 1}`, [from]);
    const key = rows.map((r) => r.dir_key as string).find((k) => !exclude.includes(k));
    if (key !== undefined) picked.add(key);
  }
  return [...picked];
}

export interface MeasuredVmRate {
  hosts: number;
  objectsPerSecond: number;
  bytesPerSecond: number;
}

/**
 * What the running fleet measures per VM: for cdnTransfer workers alive now (heartbeat within 30 s) that
 * have worked at least `minSeconds`, each process's objects and bytes over its lifetime, summed per host,
 * averaged over hosts. Null when no worker has run long enough (before the run: the estimate assumes).
 */
export async function measuredVmRate(db: Db, table: string, minSeconds = 60): Promise<MeasuredVmRate | null> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT host, SUM(objects / TIMESTAMPDIFF(MICROSECOND, started_at, heartbeat_at) * 1e6) AS ops, SUM(bytes / TIMESTAMPDIFF(MICROSECOND, started_at, heartbeat_at) * 1e6) AS bps
     FROM workers WHERE state_table = ? AND mode = 'cdnTransfer' AND heartbeat_at >= UTC_TIMESTAMP(6) - INTERVAL 30 SECOND
       AND heartbeat_at >= started_at + INTERVAL ? SECOND GROUP BY host`,
    [table, minSeconds],
  );
  if (!rows.length) return null;
  const sum = (k: string): number => rows.reduce((s, r) => s + Number(r[k] ?? 0), 0);
  return { hosts: rows.length, objectsPerSecond: sum('ops') / rows.length, bytesPerSecond: sum('bps') / rows.length };
}
