// cdnTransfer's per-subfolder counters (sql/README.md: "published -> counters grow"). The worker sums each
// message's outcomes and flushes finished messages through addMessageCounts in batches
// (src/worker/transferCounters.ts). A message counts once: its Pub/Sub id is recorded in
// counted_messages (sql/008) in the same transaction that adds its counts, so a redelivered message, or a
// flush retried after a lost reply, adds nothing.
import type { ResultSetHeader } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { BY_KEY } from './leases.js';
import { mergeLedger, recordFailures, resolveVerified, type LedgerFailure } from './ledger.js';

export interface DirCounts {
  copied_objects: number;
  copied_bytes: number;
  skipped_objects: number;
  failed_objects: number;
  size_only_objects: number;
}

/** One finished message's outcomes. */
export interface MessageCounts {
  /** Pub/Sub's message id: the same on every redelivery of the message. */
  messageId: string;
  dirKey: string;
  counts: DirCounts;
  /** The message's failed objects, for the ledger (sql/012 failed_objects). */
  failures?: LedgerFailure[];
  /** Its keys verified in GCS (copied or found the same): they leave the ledger if they are in it. */
  verified?: string[];
}

export interface AddedCounts {
  /** Messages counted now. */
  counted: number;
  /** Messages counted before (a redelivery, or a retry after a lost reply): nothing added. */
  alreadyCounted: number;
  /** Subfolders not in the table: their counts are dropped. */
  unknownDirs: string[];
  /** Ledger entries resolved by this batch's verified keys. */
  resolved: number;
}

/** Pub/Sub keeps a message at most 7 days: an id older than this can never be delivered again. */
export const COUNTED_RETENTION_DAYS = 8;

/**
 * published -> counters grow, once per message: records each message id, then adds the counts of the
 * messages not recorded before to their subfolders, and their failures and verified keys to the ledger
 * (ledger.ts recordFailures, resolveVerified), in one transaction (all or nothing). No old state to
 * expect on the subfolder: counters only grow, in any state; the message id is the expected old state
 * (absent). Throws on a MySQL error, with nothing added.
 * The ids go in one statement (recordNewMessages); only when some were recorded before (a redelivery,
 * a retried flush: rare) is that undone and each id inserted alone, to learn which.
 */
export async function addMessageCounts(db: Db, table: string, messages: MessageCounts[]): Promise<AddedCounts> {
  const r: AddedCounts = { counted: 0, alreadyCounted: 0, unknownDirs: [], resolved: 0 };
  if (!messages.length) return r;
  const conn = await db.getConnection();
  try {
    await conn.beginTransaction();
    try {
      let counted = messages;
      if (!(await recordNewMessages(conn, table, messages))) {
        await conn.rollback();
        await conn.beginTransaction();
        counted = [];
        for (const m of messages) if (await recordNewMessages(conn, table, [m])) counted.push(m);
      }
      r.counted = counted.length;
      r.alreadyCounted = messages.length - counted.length;
      const sums = new Map<string, DirCounts>();
      for (const m of counted) {
        const s = sums.get(m.dirKey) ?? { copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 };
        for (const k of Object.keys(s) as (keyof DirCounts)[]) s[k] += m.counts[k];
        sums.set(m.dirKey, s);
      }
      for (const [dirKey, c] of sums) if ((await addTransferCounts(conn, table, dirKey, c)) === 0) r.unknownDirs.push(dirKey);
      const ledger = mergeLedger(counted);
      await recordFailures(conn, table, ledger.failures);
      r.resolved = await resolveVerified(conn, table, ledger.verified);
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    }
  } finally {
    conn.release();
  }
  return r;
}

/** absent -> counted: records the message ids in one statement; true when none was recorded before (each row inserted). */
async function recordNewMessages(conn: PoolConnection, table: string, messages: MessageCounts[]): Promise<boolean> {
  const [ins] = await conn.query<ResultSetHeader>(
    `INSERT IGNORE INTO counted_messages (state_table, message_id, counted_at) VALUES ${messages.map(() => '(?, ?, UTC_TIMESTAMP())').join(', ')}`,
    messages.flatMap((m) => [table, m.messageId]),
  );
  return ins.affectedRows === messages.length;
}

/** Adds to one subfolder's counters; 1, or 0 when the subfolder is not in the table. */
async function addTransferCounts(conn: PoolConnection, table: string, dirKey: string, c: DirCounts): Promise<number> {
  const [r] = await conn.query<ResultSetHeader>(
    `UPDATE ${tableName(table)} SET copied_objects = copied_objects + ?, copied_bytes = copied_bytes + ?, skipped_objects = skipped_objects + ?,
       failed_objects = failed_objects + ?, size_only_objects = size_only_objects + ? WHERE ${BY_KEY}`,
    [c.copied_objects, c.copied_bytes, c.skipped_objects, c.failed_objects, c.size_only_objects, dirKey],
  );
  return r.affectedRows;
}

/** Forgets message ids past COUNTED_RETENTION_DAYS (they cannot come back), at most `limit`; returns how many. */
export async function pruneCountedMessages(db: Db, table: string, limit: number): Promise<number> {
  const [r] = await db.query<ResultSetHeader>(
    `DELETE FROM counted_messages WHERE state_table = ? AND counted_at < UTC_TIMESTAMP() - INTERVAL ${COUNTED_RETENTION_DAYS} DAY LIMIT ?`,
    [table, limit],
  );
  return r.affectedRows;
}
