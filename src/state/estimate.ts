// `ott estimate`'s reads: what the table already knows of the source's size, and a spread sample of the
// subfolders it does not know yet. Read-only.
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

/** A subfolder's size is known once syncCheck/rsync measured it, the publisher listed it, or an S3 Inventory counted it. */
const KNOWN = '(s3_objects > 0 OR gcs_objects > 0 OR published_objects > 0 OR inventory_objects IS NOT NULL)';
/** Not measured, not published: the inventory's counts stand for it. */
const BY_INVENTORY = '(s3_objects + gcs_objects = 0 AND NOT cdn_transfer_published AND inventory_objects IS NOT NULL)';

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
       SUM(IF(${KNOWN}, IF(s3_objects + gcs_objects > 0, s3_objects, IF(${BY_INVENTORY}, inventory_objects, published_objects)), 0)) AS objects,
       SUM(IF(${KNOWN}, IF(s3_objects + gcs_objects > 0, s3_size, IF(${BY_INVENTORY}, inventory_bytes, published_bytes)), 0)) AS bytes
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
