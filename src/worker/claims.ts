// The leases of syncCheck and rsync on a subfolder row: each transition one statement, the expected old
// state in its WHERE, `affectedRows === 1` the proof (mysql2 sets CLIENT_FOUND_ROWS, so it counts matched
// rows). A claim is taken only when neither mode holds the row or the holder's lease has expired, so a
// crashed VM strands nothing: the next worker takes the row over once `*_lease_until` has passed.
// Times are the database's UTC clock, never the worker's, so skewed VM clocks cannot steal a lease.
import type { ResultSetHeader } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

export type ClaimMode = 'syncCheck' | 'rsync';

/** Column names per mode (constants, never config): the two modes share every statement's shape. */
const COLS = {
  syncCheck: { flag: 'sync_check_in_progress', owner: 'sync_check_owner', lease: 'sync_check_lease_until', start: 'sync_check_last_start', end: 'sync_check_last_end', freq: 'sync_check_frequency', error: 'sync_check_error', published: 'sync_check_published' },
  rsync: { flag: 'rsync_in_progress', owner: 'rsync_owner', lease: 'rsync_lease_until', start: 'rsync_last_start', end: 'rsync_last_end', freq: 'rsync_frequency', error: 'rsync_error', published: 'rsync_published' },
} as const;

const BY_KEY = 'dir_key_sha = UNHEX(SHA2(?, 256))';
/** Not held: flag off, or a lease that has expired (a NULL lease with the flag on is a hand-set flag: free). */
const free = (m: ClaimMode): string => `(${COLS[m].flag} = FALSE OR ${COLS[m].lease} IS NULL OR ${COLS[m].lease} < UTC_TIMESTAMP())`;
const owned = (m: ClaimMode): string => `${COLS[m].flag} = TRUE AND ${COLS[m].owner} = ?`;

export interface Measured {
  s3Bytes: number;
  gcsBytes: number;
  s3Objects: number;
  gcsObjects: number;
}

export interface DeepResult {
  missing: number;
  different: number;
  extra: number;
  /** Up to a few keys of each kind, for the operator; stored as JSON. */
  sample: { missing: string[]; different: string[]; extra: string[] };
}

async function exec(db: Db, sql: string, params: unknown[]): Promise<number> {
  const [r] = await db.query<ResultSetHeader>(sql, params);
  return r.affectedRows;
}

/**
 * Claims the row for `mode`: sets the flag, owner, lease and `*_last_start`, only when neither syncCheck
 * nor rsync holds it (or the holder's lease expired). Returns true when this worker now owns it.
 */
export async function claim(db: Db, table: string, mode: ClaimMode, dirKey: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const c = COLS[mode];
  const o = COLS[mode === 'syncCheck' ? 'rsync' : 'syncCheck'];
  // The other mode is free here (WHERE): if it held an expired lease, that claim ends now, so a row never
  // shows both flags; its late holder finds out at its next renewal or release (owner checked).
  const sql = `UPDATE ${tableName(table)} SET ${c.flag} = TRUE, ${c.owner} = ?, ${c.lease} = UTC_TIMESTAMP() + INTERVAL ? SECOND, ${c.start} = UTC_TIMESTAMP(),
      ${o.flag} = FALSE, ${o.owner} = NULL, ${o.lease} = NULL
    WHERE ${BY_KEY} AND ${free('syncCheck')} AND ${free('rsync')}`;
  return (await exec(db, sql, [owner, leaseSeconds, dirKey])) === 1;
}

/**
 * A busy row is not dropped: its published flag is cleared so the publisher sends it again later.
 * Returns false when the row does not exist at all (a message for an unknown subfolder).
 */
export async function unpublish(db: Db, table: string, mode: ClaimMode, dirKey: string): Promise<boolean> {
  const sql = `UPDATE ${tableName(table)} SET ${COLS[mode].published} = FALSE WHERE ${BY_KEY}`;
  return (await exec(db, sql, [dirKey])) === 1;
}

/** Pushes the lease forward; returns false when this worker no longer owns the row (expired and taken over). */
export async function renew(db: Db, table: string, mode: ClaimMode, dirKey: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const c = COLS[mode];
  const sql = `UPDATE ${tableName(table)} SET ${c.lease} = UTC_TIMESTAMP() + INTERVAL ? SECOND WHERE ${BY_KEY} AND ${owned(mode)}`;
  return (await exec(db, sql, [leaseSeconds, dirKey, owner])) === 1;
}

/**
 * The reference's end state: sizes, `*_last_end`, `*_frequency + 1` (capped: the column is a TINYINT),
 * `*_error`, flag off, plus our counts and (syncCheck) the deep diff, which is NULL after a shallow check
 * so an old diff never sits beside new sizes. Only the owner may write it; returns false if the lease was lost.
 */
export async function finish(db: Db, table: string, mode: ClaimMode, dirKey: string, owner: string, m: Measured, error: string | null, deep?: DeepResult | null): Promise<boolean> {
  const c = COLS[mode];
  const deepSet = mode === 'syncCheck' ? ', deep_missing = ?, deep_different = ?, deep_extra = ?, deep_sample = ?' : '';
  const deepParams = mode === 'syncCheck' ? (deep ? [deep.missing, deep.different, deep.extra, JSON.stringify(deep.sample)] : [null, null, null, null]) : [];
  // After an rsync the subfolder is due a sync check again (publishDirList picks rows rsynced since their last check).
  const recheck = mode === 'rsync' ? ', sync_check_published = FALSE' : '';
  const sql = `UPDATE ${tableName(table)} SET ${c.flag} = FALSE, ${c.owner} = NULL, ${c.lease} = NULL,
      s3_size = ?, gcs_size = ?, s3_objects = ?, gcs_objects = ?, ${c.end} = UTC_TIMESTAMP(), ${c.freq} = LEAST(${c.freq} + 1, 255), ${c.error} = ?${deepSet}${recheck}
    WHERE ${BY_KEY} AND ${owned(mode)}`;
  return (await exec(db, sql, [m.s3Bytes, m.gcsBytes, m.s3Objects, m.gcsObjects, error, ...deepParams, dirKey, owner])) === 1;
}

/** A run that failed before it could measure: `*_error`, `*_last_end`, `*_frequency + 1`, flag off; sizes kept. */
export async function fail(db: Db, table: string, mode: ClaimMode, dirKey: string, owner: string, error: string): Promise<boolean> {
  const c = COLS[mode];
  const sql = `UPDATE ${tableName(table)} SET ${c.flag} = FALSE, ${c.owner} = NULL, ${c.lease} = NULL,
      ${c.end} = UTC_TIMESTAMP(), ${c.freq} = LEAST(${c.freq} + 1, 255), ${c.error} = ?
    WHERE ${BY_KEY} AND ${owned(mode)}`;
  return (await exec(db, sql, [error.slice(0, 60_000), dirKey, owner])) === 1;
}

/** Gives the row back untouched (shutdown mid-work): flag off, owner cleared; nothing recorded as done. */
export async function release(db: Db, table: string, mode: ClaimMode, dirKey: string, owner: string): Promise<boolean> {
  const c = COLS[mode];
  const sql = `UPDATE ${tableName(table)} SET ${c.flag} = FALSE, ${c.owner} = NULL, ${c.lease} = NULL, ${c.published} = FALSE WHERE ${BY_KEY} AND ${owned(mode)}`;
  return (await exec(db, sql, [dirKey, owner])) === 1;
}

export const CLAIM_COLUMNS = COLS;
