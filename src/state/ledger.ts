// The ledger of objects that failed or were set aside (sql/012 failed_objects): workers record failures
// and verified copies in batches (src/worker/ledger.ts), `ott status --failed` lists what is open and
// `ott retry --failed` publishes it again. One row per object key per state table; the key's SHA-256 is
// its identity (a key may be 1024 bytes, an index key may not). Every statement is one transition.
import { createHash } from 'node:crypto';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import type { ObjectEntry } from '../common/messages.js';

/** One object's failures within a batch (a key failing twice in one batch is one entry). */
export interface LedgerFailure {
  entry: ObjectEntry;
  dirKey: string;
  mode: string;
  reasonClass: string;
  /** The last reason. */
  message: string;
  /** Tries, summed over the batch's failures of the key. */
  attempts: number;
  failures: number;
}

export interface OpenEntry {
  key: string;
  dirKey: string;
  mode: string;
  reasonClass: string;
  message: string;
  attempts: number;
  failures: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  retries: number;
  retriedAt: Date | null;
  entry: ObjectEntry;
}

type Exec = Pick<Db, 'query'> | PoolConnection;

export function keySha(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * (absent | open | resolved) -> open: each object failed again. A new key is inserted with its first and
 * last time; a known one adds its attempts and failures, takes the newest reason and listing, and is open
 * again (resolved_at NULL) whatever it was. Returns the rows touched (MySQL counts an update as 2).
 */
export async function recordFailures(db: Exec, table: string, failures: LedgerFailure[]): Promise<number> {
  if (!failures.length) return 0;
  const rows = failures.map((f) => [
    table, keySha(f.entry.key), f.entry.key, f.dirKey, keySha(f.dirKey), f.mode, f.reasonClass, f.message, f.attempts, f.failures,
    f.entry.size, f.entry.etag, f.entry.last_modified, f.entry.storage_class ?? null,
  ]);
  const [r] = await db.query<ResultSetHeader>(
    `INSERT INTO failed_objects (state_table, key_sha, object_key, dir_key, dir_sha, mode, reason_class, message, attempts, failures, size, etag, last_modified, storage_class, first_failed_at, last_failed_at)
     VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))').join(', ')}
     ON DUPLICATE KEY UPDATE dir_key = VALUES(dir_key), dir_sha = VALUES(dir_sha), mode = VALUES(mode), reason_class = VALUES(reason_class), message = VALUES(message),
       attempts = attempts + VALUES(attempts), failures = failures + VALUES(failures), size = VALUES(size), etag = VALUES(etag),
       last_modified = VALUES(last_modified), storage_class = VALUES(storage_class), last_failed_at = UTC_TIMESTAMP(6), resolved_at = NULL`,
    rows.flat(),
  );
  return r.affectedRows;
}

/**
 * open -> resolved: a later copy verified these objects (copied and verified, or found the same in GCS).
 * Keys not in the ledger, or already resolved, are untouched, so a worker sends every verified key of a
 * flush without knowing which ever failed. What it costs is bounded by subfolders, not keys: one lookup per
 * subfolder of the batch finds those holding open entries (ix_failed_dir), and only their keys are looked
 * up (a healthy subfolder's thousands of keys cost nothing). Run in the flush's transaction, after that
 * flush's failures are recorded. Returns the rows resolved.
 */
export async function resolveVerified(db: Exec, table: string, verified: { key: string; dirKey: string }[]): Promise<number> {
  if (!verified.length) return 0;
  const dirs = [...new Set(verified.map((v) => v.dirKey))];
  const [open] = await db.query<RowDataPacket[]>('SELECT DISTINCT dir_sha FROM failed_objects FORCE INDEX (ix_failed_dir) WHERE state_table = ? AND dir_sha IN (?) AND resolved_at IS NULL', [
    table,
    dirs.map(keySha),
  ]);
  if (!open.length) return 0;
  const withOpen = new Set(open.map((r) => (r.dir_sha as Buffer).toString('hex')));
  const keys = verified.filter((v) => withOpen.has(keySha(v.dirKey).toString('hex'))).map((v) => keySha(v.key));
  const [r] = await db.query<ResultSetHeader>('UPDATE failed_objects SET resolved_at = UTC_TIMESTAMP(6) WHERE state_table = ? AND key_sha IN (?) AND resolved_at IS NULL', [table, keys]);
  return r.affectedRows;
}

/**
 * Bound: past maxRows rows in the table's ledger, the oldest resolved rows go (at most `limit` a call).
 * Open rows are never pruned. Returns the rows removed.
 */
export async function pruneResolved(db: Db, table: string, maxRows: number, limit: number): Promise<number> {
  const [[c]] = await db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM failed_objects WHERE state_table = ?', [table]);
  const excess = Math.min(limit, Number(c.n) - maxRows);
  if (excess <= 0) return 0;
  const [r] = await db.query<ResultSetHeader>(
    'DELETE FROM failed_objects WHERE state_table = ? AND resolved_at IS NOT NULL ORDER BY resolved_at LIMIT ?',
    [table, excess],
  );
  return r.affectedRows;
}

export interface ReasonCount {
  reasonClass: string;
  objects: number;
  open: number;
}

export interface LedgerReason extends ReasonCount {
  /** Tries summed over every failure of these objects, and the failures themselves. */
  attempts: number;
  failures: number;
  /** Times `ott retry --failed` published them again. */
  retries: number;
}

/**
 * The ledger per reason class, the one grouped read for its readers. `open` (status, the dashboard,
 * `status --failed`): the open entries only, by reason class, from ix_failed_open alone (no row is read, so
 * resolved entries cost nothing). `all` (the report): open and resolved, most objects first, with tries,
 * failures and retries summed (every row of the table's ledger: bounded by failed_ledger_max_rows and the open).
 */
export async function ledgerByReason(db: Db, table: string, scope: 'open'): Promise<ReasonCount[]>;
export async function ledgerByReason(db: Db, table: string, scope: 'all'): Promise<LedgerReason[]>;
export async function ledgerByReason(db: Db, table: string, scope: 'open' | 'all'): Promise<ReasonCount[] | LedgerReason[]> {
  const all = scope === 'all';
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT reason_class, COUNT(*) AS objects, SUM(resolved_at IS NULL) AS open${all ? ', SUM(attempts) AS attempts, SUM(failures) AS failures, SUM(retries) AS retries' : ''}
     FROM failed_objects ${all ? '' : 'FORCE INDEX (ix_failed_open)'} WHERE state_table = ? ${all ? '' : 'AND resolved_at IS NULL'}
     GROUP BY reason_class ORDER BY ${all ? 'objects DESC, reason_class' : 'reason_class'}`,
    [table],
  );
  return rows.map((r) => ({
    reasonClass: r.reason_class as string,
    objects: Number(r.objects),
    open: Number(r.open),
    ...(all ? { attempts: Number(r.attempts), failures: Number(r.failures), retries: Number(r.retries) } : {}),
  }));
}

/** Open entries per reason class, as status and `status --failed` show them. */
export const openCounts = (reasons: ReasonCount[]): Record<string, number> => Object.fromEntries(reasons.map((r) => [r.reasonClass, r.open]));

/**
 * The newest open entries of each reason class given, `perClass` each (the dashboard's "most recent
 * reasons"): per class one ordered range of ix_failed_open (state_table, resolved_at, reason_class,
 * last_failed_at) read backwards, so it costs `perClass` rows whatever the ledger holds.
 */
export async function newestOpenEntries(db: Db, table: string, classes: string[], perClass: number): Promise<Omit<OpenEntry, 'entry'>[]> {
  if (!classes.length) return [];
  const one = `(SELECT object_key, dir_key, mode, reason_class, message, attempts, failures, first_failed_at, last_failed_at, retries, retried_at
     FROM failed_objects FORCE INDEX (ix_failed_open) WHERE state_table = ? AND resolved_at IS NULL AND reason_class = ? ORDER BY last_failed_at DESC LIMIT ?)`;
  const [rows] = await db.query<RowDataPacket[]>(
    classes.map(() => one).join(' UNION ALL ') + ' ORDER BY last_failed_at DESC',
    classes.flatMap((c) => [table, c, perClass]),
  );
  return rows.map(entryFields);
}

/**
 * The subfolders holding the most open entries, among the first `scanRows` open entries in ix_failed_dir
 * order (covering: no row is read but one per subfolder returned, for its dir_key). Exact while the ledger
 * holds at most `scanRows` open entries, which `exact` says; past that a sample, so a dashboard refresh
 * stays bounded on a ledger of millions.
 */
export async function topFailingDirs(db: Db, table: string, limit: number, scanRows: number): Promise<{ exact: boolean; dirs: { dirKey: string; open: number }[] }> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT s.n, s.scanned, (SELECT f.dir_key FROM failed_objects f FORCE INDEX (ix_failed_dir) WHERE f.state_table = ? AND f.dir_sha = s.dir_sha LIMIT 1) AS dir_key
     FROM (SELECT dir_sha, COUNT(*) AS n, SUM(COUNT(*)) OVER () AS scanned FROM
            (SELECT dir_sha FROM failed_objects FORCE INDEX (ix_failed_dir) WHERE state_table = ? AND resolved_at IS NULL LIMIT ?) o
           GROUP BY dir_sha ORDER BY n DESC LIMIT ?) s ORDER BY s.n DESC`,
    [table, table, scanRows, limit],
  );
  const scanned = rows.length ? Number(rows[0].scanned) : 0;
  return { exact: scanned < scanRows, dirs: rows.map((r) => ({ dirKey: r.dir_key as string, open: Number(r.n) })) };
}

/**
 * Open entries (of one reason class, if given), a page at a time in key-hash order: pass the last page's
 * `after` to go on. Newest first would need a filesort over millions; a page in index order needs none.
 */
export async function openEntries(db: Db, table: string, opts: { reasonClass?: string; notReasonClass?: string; limit: number; after?: Buffer }): Promise<{ entries: OpenEntry[]; after?: Buffer }> {
  const where = ['state_table = ?', 'resolved_at IS NULL'];
  const args: unknown[] = [table];
  if (opts.reasonClass) {
    where.push('reason_class = ?');
    args.push(opts.reasonClass);
  }
  if (opts.notReasonClass) {
    where.push('reason_class <> ?');
    args.push(opts.notReasonClass);
  }
  if (opts.after) {
    where.push('key_sha > ?');
    args.push(opts.after);
  }
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT key_sha, object_key, dir_key, mode, reason_class, message, attempts, failures, size, etag, last_modified, storage_class, first_failed_at, last_failed_at, retries, retried_at
     FROM failed_objects WHERE ${where.join(' AND ')} ORDER BY key_sha LIMIT ?`,
    [...args, opts.limit],
  );
  const entries = rows.map((r) => ({
    ...entryFields(r),
    entry: { key: r.object_key as string, size: Number(r.size), etag: r.etag as string, last_modified: r.last_modified as string, ...(r.storage_class ? { storage_class: r.storage_class as string } : {}) },
  }));
  return { entries, after: rows.length ? (rows[rows.length - 1].key_sha as Buffer) : undefined };
}

/** An open-entry row without its listing: the columns both reads of open entries select. */
function entryFields(r: RowDataPacket): Omit<OpenEntry, 'entry'> {
  return {
    key: r.object_key as string,
    dirKey: r.dir_key as string,
    mode: r.mode as string,
    reasonClass: r.reason_class as string,
    message: r.message as string,
    attempts: Number(r.attempts),
    failures: Number(r.failures),
    firstFailedAt: r.first_failed_at as Date,
    lastFailedAt: r.last_failed_at as Date,
    retries: Number(r.retries),
    retriedAt: (r.retried_at as Date | null) ?? null,
  };
}

/**
 * A batch's ledger events, in message order, as one write each: every key's failures summed (the last
 * reason kept), and the keys whose last event in the batch was a verified copy. A key that failed and then
 * was verified within the batch is recorded, then resolved; verified and then failed, it stays open.
 */
export function mergeLedger(messages: { dirKey: string; failures?: LedgerFailure[]; verified?: string[] }[]): { failures: LedgerFailure[]; verified: { key: string; dirKey: string }[] } {
  const failed = new Map<string, LedgerFailure>();
  /** key -> its subfolder when its last event was a verified copy, else null. */
  const lastVerified = new Map<string, string | null>();
  for (const m of messages) {
    for (const f of m.failures ?? []) {
      const cur = failed.get(f.entry.key);
      failed.set(f.entry.key, cur ? { ...f, attempts: cur.attempts + f.attempts, failures: cur.failures + f.failures } : f);
      lastVerified.set(f.entry.key, null);
    }
    for (const k of m.verified ?? []) lastVerified.set(k, m.dirKey);
  }
  const verified: { key: string; dirKey: string }[] = [];
  for (const [key, dirKey] of lastVerified) if (dirKey !== null) verified.push({ key, dirKey });
  return { failures: [...failed.values()], verified };
}

/** open -> open, retried: `ott retry --failed` published these keys again (Pub/Sub acknowledged them). Returns the rows marked. */
export async function markRetried(db: Db, table: string, keys: string[]): Promise<number> {
  if (!keys.length) return 0;
  const [r] = await db.query<ResultSetHeader>(
    'UPDATE failed_objects SET retried_at = UTC_TIMESTAMP(6), retries = retries + 1 WHERE state_table = ? AND key_sha IN (?) AND resolved_at IS NULL',
    [table, keys.map(keySha)],
  );
  return r.affectedRows;
}
