// cdnTransfer's per-subfolder counters (sql/README.md: "published -> counters grow"). The worker sums
// outcomes in memory and flushes them through this statement in batches (src/worker/transferCounters.ts).
import type { ResultSetHeader } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { BY_KEY } from './leases.js';

export interface DirCounts {
  copied_objects: number;
  copied_bytes: number;
  skipped_objects: number;
  failed_objects: number;
  size_only_objects: number;
}

/**
 * published -> counters grow: adds to the subfolder's counters. No old state to expect: counters only
 * grow, in any state. Returns 1, or 0 when the subfolder is not in the table.
 */
export async function addTransferCounts(db: Db, table: string, dirKey: string, c: DirCounts): Promise<number> {
  const [r] = await db.query<ResultSetHeader>(
    `UPDATE ${tableName(table)} SET copied_objects = copied_objects + ?, copied_bytes = copied_bytes + ?, skipped_objects = skipped_objects + ?,
       failed_objects = failed_objects + ?, size_only_objects = size_only_objects + ? WHERE ${BY_KEY}`,
    [c.copied_objects, c.copied_bytes, c.skipped_objects, c.failed_objects, c.size_only_objects, dirKey],
  );
  return r.affectedRows;
}
