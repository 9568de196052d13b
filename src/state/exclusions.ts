// What a listing pass found it cannot migrate in one subfolder (archived objects, objects GCS cannot hold:
// src/common/source/unmigratable.ts), recorded on the row by whoever holds it while listing (sql/007):
// the publisher under its publish lease, syncCheck and rsync under their claim. And `ott status`'s sums.
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import type { ExclusionKind, ExclusionTally, Exclusions } from '../common/source/unmigratable.js';
import { BY_KEY, heldBy, publishLease, workLease, type Holder, type WorkMode } from './leases.js';

const SET = 'archived_objects = ?, archived_bytes = ?, archived_sample = ?, unmigratable_objects = ?, unmigratable_bytes = ?, unmigratable_sample = ?';

function params(e: Exclusions): unknown[] {
  const sample = (t: ExclusionTally): string | null => (t.sample.length ? JSON.stringify(t.sample) : null);
  return [e.archived.objects, e.archived.bytes, sample(e.archived), e.unmigratable.objects, e.unmigratable.bytes, sample(e.unmigratable)];
}

/**
 * publishing -> publishing, its exclusions recorded: the publisher's listing of row `id` replaces the
 * row's archived_* / unmigratable_*. Only while `h.owner` holds the publish lease (not yet flagged).
 * False when the lease was lost (the new holder records its own listing).
 */
export async function recordPublishExclusions(h: Holder, id: number, e: Exclusions): Promise<boolean> {
  const [r] = await h.db.query<ResultSetHeader>(`UPDATE ${tableName(h.table)} SET ${SET} WHERE id = ? AND ${heldBy(publishLease('cdn'))}`, [...params(e), id, h.owner]);
  return r.affectedRows === 1;
}

/**
 * checking / rsyncing -> the same, its exclusions recorded: the worker's listing replaces the row's
 * archived_* / unmigratable_* (the latest listing is the truth: a restored object leaves the count).
 * Only while `h.owner` holds the claim; false when it was lost.
 */
export async function recordWorkExclusions(h: Holder, mode: WorkMode, dirKey: string, e: Exclusions): Promise<boolean> {
  const [r] = await h.db.query<ResultSetHeader>(`UPDATE ${tableName(h.table)} SET ${SET} WHERE ${BY_KEY} AND ${heldBy(workLease(mode))}`, [...params(e), dirKey, h.owner]);
  return r.affectedRows === 1;
}

export interface ExclusionTotals {
  subfolders: number;
  objects: number;
  bytes: number;
  /** A few subfolders with their sampled keys. */
  sample: { dirKey: string; keys: { key: string; why: string }[] }[];
}

/** Status: one kind's totals over the table, from its index (only rows holding such objects are read). */
export async function exclusionTotals(db: Db, table: string, kind: ExclusionKind, sampleSize: number): Promise<ExclusionTotals> {
  const t = tableName(table);
  const [[sums]] = await db.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS subfolders, SUM(${kind}_objects) AS objects, SUM(${kind}_bytes) AS bytes FROM ${t} FORCE INDEX (ix_${kind}) WHERE ${kind}_objects > 0`,
  );
  const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key, ${kind}_sample AS sample FROM ${t} FORCE INDEX (ix_${kind}) WHERE ${kind}_objects > 0 ORDER BY ${kind}_objects DESC LIMIT ?`, [sampleSize]);
  return {
    subfolders: Number(sums.subfolders ?? 0),
    objects: Number(sums.objects ?? 0),
    bytes: Number(sums.bytes ?? 0),
    sample: rows.map((r) => ({ dirKey: r.dir_key as string, keys: r.sample ? (JSON.parse(r.sample as string) as { key: string; why: string }[]) : [] })),
  };
}
