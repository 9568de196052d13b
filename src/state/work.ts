// The workers' transitions on a subfolder row (syncCheck, rsync: sql/README.md, "The life of a
// subfolder"): one subfolder claimed by dir_key, held by `*_in_progress` / `*_owner` / `*_lease_until`
// (src/state/leases.ts). Each statement carries the expected old state in its WHERE; `affectedRows === 1`
// is the proof (mysql2 sets CLIENT_FOUND_ROWS, so it counts matched rows). A claim is taken only when
// neither mode holds the row or the holder's lease has expired, so a crashed VM strands nothing.
// withClaim (withClaim.ts) runs these in order; tests and tools may call them one by one.
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { tableName } from '../common/db.js';
import { BY_KEY, heldBy, leaseFree, otherMode, workLease, type Holder, type WorkMode } from './leases.js';

/** Both sides of a subfolder as a worker measured them (objects in scope only). */
export interface Measured {
  s3Bytes: number;
  gcsBytes: number;
  s3Objects: number;
  gcsObjects: number;
}

/** syncCheck --deep: the per-object diff. */
export interface DeepResult {
  missing: number;
  different: number;
  extra: number;
  /** Up to a few keys of each kind, for the operator; stored as JSON. */
  sample: { missing: string[]; different: string[]; extra: string[] };
}

async function affected(h: Holder, sql: string, params: unknown[]): Promise<number> {
  const [r] = await h.db.query<ResultSetHeader>(sql, params);
  return r.affectedRows;
}

/**
 * published -> in progress: sets the flag, owner, lease (UTC_TIMESTAMP() + leaseSeconds) and
 * `*_last_start`, only when neither syncCheck nor rsync holds the row (or the holder's lease expired).
 * True when `h.owner` now holds it; false when it is held or does not exist (see unpublishDir).
 */
export async function claimDir(h: Holder, mode: WorkMode, dirKey: string): Promise<boolean> {
  const c = workLease(mode);
  const o = workLease(otherMode(mode));
  // The other mode is free here (WHERE): if it held an expired lease, that claim ends now, so a row never
  // shows both flags; its late holder finds out at its next renewal or release (owner checked).
  const sql = `UPDATE ${tableName(h.table)} SET ${c.inProgress} = TRUE, ${c.owner} = ?, ${c.until} = UTC_TIMESTAMP() + INTERVAL ? SECOND, ${c.lastStart} = UTC_TIMESTAMP(),
      ${o.inProgress} = FALSE, ${o.owner} = NULL, ${o.until} = NULL
    WHERE ${BY_KEY} AND ${leaseFree(workLease('syncCheck'))} AND ${leaseFree(workLease('rsync'))}`;
  return (await affected(h, sql, [h.owner, h.leaseSeconds, dirKey])) === 1;
}

/**
 * published -> unpublished, for a row claimDir found busy whose message has come back several times
 * already: its published flag is cleared so the publisher sends it again later, and the message can go.
 * Only a flag that is on (expected old state): a publisher flags a row after Pub/Sub acknowledged its
 * message, so a message handled before that instant must not clear a flag about to be set (that message
 * would be acked and the row left flagged, never published again). False when the flag is off or there is
 * no such row: the caller keeps the message (see withClaim).
 */
export async function unpublishDir(h: Holder, mode: WorkMode, dirKey: string): Promise<boolean> {
  const p = workLease(mode).published;
  const sql = `UPDATE ${tableName(h.table)} SET ${p} = FALSE WHERE ${BY_KEY} AND ${p} = TRUE`;
  return (await affected(h, sql, [dirKey])) === 1;
}

/** Whether the subfolder has a row at all (a message for an unknown one is dropped with a reason). */
export async function dirExists(h: Holder, dirKey: string): Promise<boolean> {
  const [rows] = await h.db.query<RowDataPacket[]>(`SELECT 1 FROM ${tableName(h.table)} WHERE ${BY_KEY}`, [dirKey]);
  return rows.length > 0;
}

/** in progress -> in progress, later: pushes the lease on. False when `h.owner` no longer holds the row (expired and taken over). */
export async function renewDirLease(h: Holder, mode: WorkMode, dirKey: string): Promise<boolean> {
  const c = workLease(mode);
  const sql = `UPDATE ${tableName(h.table)} SET ${c.until} = UTC_TIMESTAMP() + INTERVAL ? SECOND WHERE ${BY_KEY} AND ${heldBy(c)}`;
  return (await affected(h, sql, [h.leaseSeconds, dirKey, h.owner])) === 1;
}

/**
 * How a run that ended moves the check -> repair loop (sql/README.md, "The repair loop"): a check that
 * found the subfolder `equal` ends the loop (rsync_attempts and rsync_next_at reset); every rsync that ends
 * counts one attempt and makes the next wait `rsyncBackoffSeconds`, doubled per attempt already made (at
 * most a day).
 */
export interface LoopStep {
  equal: boolean;
  rsyncBackoffSeconds: number;
}

const MAX_BACKOFF_SECONDS = 24 * 3600;

/**
 * The loop's columns as one SET fragment and its parameters. An rsync that ends also clears
 * rsync_published: the publisher sends the row again once a check finds it still mismatched and the
 * backoff has passed (before issue 14 the flag stayed on and the loop stopped after one rsync). Every run
 * that ends records its mode in last_ended_mode: the order of a check and an rsync within one second.
 * rsync_next_at is assigned before rsync_attempts so it reads the attempts made before this one whatever
 * the server's assignment order.
 */
function loopSet(mode: WorkMode, step: LoopStep): { set: string; params: unknown[] } {
  if (mode === 'syncCheck') return { set: `, last_ended_mode = 'syncCheck'${step.equal ? ', rsync_attempts = 0, rsync_next_at = NULL' : ''}`, params: [] };
  return {
    set: `, last_ended_mode = 'rsync', rsync_next_at = UTC_TIMESTAMP() + INTERVAL LEAST(? * POW(2, LEAST(rsync_attempts, 20)), ${MAX_BACKOFF_SECONDS}) SECOND,
      rsync_attempts = LEAST(rsync_attempts + 1, 65535), ${workLease('rsync').published} = FALSE`,
    params: [step.rsyncBackoffSeconds],
  };
}

/**
 * in progress -> done, the reference's end state: sizes, `*_last_end`, `*_frequency + 1` (capped: the
 * column is a TINYINT), `*_error` (null: none), flag, owner and lease off, plus our counts and (syncCheck)
 * the deep diff, which is NULL after a shallow check so an old diff never sits beside new sizes. An rsync
 * also clears sync_check_published: the repair is due a confirming check (publishDirList takes rows
 * rsynced since their last check). `step` moves the repair loop (loopSet). False when `h.owner` no longer
 * holds the row (the lease was lost).
 */
export async function finishDir(h: Holder, mode: WorkMode, dirKey: string, m: Measured, error: string | null, deep: DeepResult | null, step: LoopStep): Promise<boolean> {
  const c = workLease(mode);
  const deepSet = mode === 'syncCheck' ? ', deep_missing = ?, deep_different = ?, deep_extra = ?, deep_sample = ?' : '';
  const deepParams = mode === 'syncCheck' ? (deep ? [deep.missing, deep.different, deep.extra, JSON.stringify(deep.sample)] : [null, null, null, null]) : [];
  const recheck = mode === 'rsync' ? `, ${workLease('syncCheck').published} = FALSE` : '';
  const loop = loopSet(mode, step);
  const sql = `UPDATE ${tableName(h.table)} SET ${c.inProgress} = FALSE, ${c.owner} = NULL, ${c.until} = NULL,
      s3_size = ?, gcs_size = ?, s3_objects = ?, gcs_objects = ?, ${c.lastEnd} = UTC_TIMESTAMP(), ${c.frequency} = LEAST(${c.frequency} + 1, 255), ${c.error} = ?${deepSet}${recheck}${loop.set}
    WHERE ${BY_KEY} AND ${heldBy(c)}`;
  return (await affected(h, sql, [m.s3Bytes, m.gcsBytes, m.s3Objects, m.gcsObjects, error, ...deepParams, ...loop.params, dirKey, h.owner])) === 1;
}

/**
 * in progress -> failed, a run that could not measure: `*_error`, `*_last_end`, `*_frequency + 1`
 * (capped), flag, owner and lease off; the sizes are kept. An rsync counts as an attempt (loopSet). False
 * when the lease was lost.
 */
export async function failDir(h: Holder, mode: WorkMode, dirKey: string, error: string, rsyncBackoffSeconds: number): Promise<boolean> {
  const c = workLease(mode);
  const loop = loopSet(mode, { equal: false, rsyncBackoffSeconds });
  const sql = `UPDATE ${tableName(h.table)} SET ${c.inProgress} = FALSE, ${c.owner} = NULL, ${c.until} = NULL,
      ${c.lastEnd} = UTC_TIMESTAMP(), ${c.frequency} = LEAST(${c.frequency} + 1, 255), ${c.error} = ?${loop.set}
    WHERE ${BY_KEY} AND ${heldBy(c)}`;
  return (await affected(h, sql, [error.slice(0, 60_000), ...loop.params, dirKey, h.owner])) === 1;
}

/** The rsyncs made since the subfolder was last checked equal; 0 when there is no such row. */
export async function rsyncAttempts(h: Holder, dirKey: string): Promise<number> {
  const [rows] = await h.db.query<RowDataPacket[]>(`SELECT rsync_attempts FROM ${tableName(h.table)} WHERE ${BY_KEY}`, [dirKey]);
  return Number(rows[0]?.rsync_attempts ?? 0);
}

/**
 * in progress -> unpublished, untouched (shutdown mid-work): flag, owner and lease off, the published
 * flag cleared so the publisher sends the row again; nothing recorded as done. False when the lease was lost.
 */
export async function releaseDir(h: Holder, mode: WorkMode, dirKey: string): Promise<boolean> {
  const c = workLease(mode);
  const sql = `UPDATE ${tableName(h.table)} SET ${c.inProgress} = FALSE, ${c.owner} = NULL, ${c.until} = NULL, ${c.published} = FALSE WHERE ${BY_KEY} AND ${heldBy(c)}`;
  return (await affected(h, sql, [dirKey, h.owner])) === 1;
}
