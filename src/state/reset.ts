// `ott reset syncCheck|rsync`'s statements (src/ops/reset.ts): the reference's manual reset ("set
// *_published and *_in_progress to FALSE") on a worker mode's lease columns. Updates run in batches so no
// statement locks the table for long; each re-checks its WHERE, so a claim taken meanwhile is respected.
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { leaseFree, workLease, type WorkMode } from './leases.js';

/** Live claims of `mode`: held, with a lease not yet expired (a few of their keys as a sample). */
export async function liveClaims(db: Db, table: string, mode: WorkMode): Promise<{ count: number; sample: string[] }> {
  const t = tableName(table);
  const c = workLease(mode);
  const [[r]] = await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t} WHERE ${c.inProgress} = TRUE AND ${c.until} >= UTC_TIMESTAMP()`);
  const [rows] = await db.query<RowDataPacket[]>(`SELECT dir_key FROM ${t} WHERE ${c.inProgress} = TRUE AND ${c.until} >= UTC_TIMESTAMP() LIMIT 3`);
  return { count: Number(r.n), sample: rows.map((x) => x.dir_key as string) };
}

async function batched(db: Db, sql: string, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const [r] = await db.query<ResultSetHeader>(`${sql} LIMIT ?`, [batchSize]);
    total += r.affectedRows;
    if (r.affectedRows < batchSize) return total;
  }
}

const clear = (t: string, mode: WorkMode): string => {
  const c = workLease(mode);
  return `UPDATE ${t} SET ${c.published} = FALSE, ${c.inProgress} = FALSE, ${c.owner} = NULL, ${c.until} = NULL`;
};

/**
 * held, lease expired or hand-set (NULL lease) -> free and unpublished, so the publisher sends the row
 * again; live claims are left alone. Returns the rows cleared.
 */
export async function clearStaleClaims(db: Db, table: string, mode: WorkMode, batchSize: number): Promise<number> {
  const c = workLease(mode);
  return batched(db, `${clear(tableName(table), mode)} WHERE ${c.inProgress} = TRUE AND (${c.until} IS NULL OR ${c.until} < UTC_TIMESTAMP())`, batchSize);
}

/**
 * published or held -> free and unpublished. Without `force` a live claim is left alone (the WHERE
 * re-checks it, so one taken after the caller's liveClaims check is safe too); with it, every claim goes.
 * Returns the rows cleared.
 */
export async function clearClaims(db: Db, table: string, mode: WorkMode, force: boolean, batchSize: number): Promise<number> {
  const c = workLease(mode);
  const guard = force ? '' : ` AND ${leaseFree(c)}`;
  return batched(db, `${clear(tableName(table), mode)} WHERE (${c.published} = TRUE OR ${c.inProgress} = TRUE)${guard}`, batchSize);
}
