// `ott status`'s reads (src/ops/status.ts renders them). Every figure comes from an index or a few rows: the
// phase totals from the totals the triggers keep (sql/015, totals.ts), the claims from the ix_*_claim
// indexes, the recent errors from ix_phase_updated. No query reads the rows themselves except the few
// sampled claims and errors, so it stays fast on millions of subfolders.
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { leaseFree, workLease, type WorkMode } from './leases.js';
import { readTotals } from './totals.js';

/** Phase numbers as stored by the generated column `phase` (sql/004_status_phase.sql). */
export const PHASES = ['new', 'published', 'transferred', 'checked equal', 'mismatched', 'rsynced', 'failed'] as const;
export const FAILED_PHASE = 6;
/** The phase whose subfolders a check found equal (sizes, counts and any --deep diff): what "done" counts. */
export const VERIFIED_PHASE = 'checked equal' satisfies (typeof PHASES)[number];

export interface Totals {
  subfolders: number;
  s3Bytes: number;
  gcsBytes: number;
  s3Objects: number;
  gcsObjects: number;
}

export type PhaseTotals = Record<(typeof PHASES)[number], Totals>;

export interface ClaimInfo {
  live: number;
  stale: number;
  /** A few held rows, stale ones first. */
  sample: { dirKey: string; owner: string | null; leaseUntil: Date | null; stale: boolean }[];
}

export interface RecentError {
  dirKey: string;
  at: Date;
  mode: string;
  error: string;
}

/** What the last delta pass of each subfolder found in GCS whose S3 source is gone (publishObjectsList --delta). */
export interface GoneFromS3 {
  /** Subfolders where the last delta found any. */
  subfolders: number;
  objects: number;
  /** Of those, removed from GCS by that delta (opt-in). */
  removed: number;
  /** A few subfolders still holding some, with the GCS names their delta sampled. */
  sample: { dirKey: string; names: string[] }[];
}

/** SUM() of BIGINT comes back as a DECIMAL string; exact while < 2^53, which covers 8 PiB. */
const n = (v: unknown): number => Number(v ?? 0);

export function emptyTotals(): Totals {
  return { subfolders: 0, s3Bytes: 0, gcsBytes: 0, s3Objects: 0, gcsObjects: 0 };
}

const MEASURED = '(s3_objects + gcs_objects > 0)';
// Not yet published (phase 0, new): the S3 Inventory's counts when a `dump --inventory` gave them.
const FROM_INVENTORY = '(phase = 0 AND inventory_objects IS NOT NULL)';

/**
 * One subfolder's sides as status counts them, as SQL over its row: the virtual columns sql/015 defines,
 * which the totals' triggers sum and `ott report --format csv` (src/state/report.ts) lists, so the CSV sums
 * to status. A subfolder counts by what is best known about it: once measured (syncCheck or rsync wrote
 * counts), its measured S3 and GCS sides; before that, the publisher's listing (S3), or before any publish
 * the S3 Inventory's counts (`dump --inventory`, before filters), and what cdnTransfer copied or found
 * already there (GCS; skipped objects carry no byte count), never more than was published: counters count
 * deliveries of objects, and an objects list published twice (a publisher that died between publishing and
 * flagging) is copied and counted twice, so they may run ahead of the subfolder.
 */
export const BEST_KNOWN = {
  s3Bytes: 'best_s3_bytes',
  gcsBytes: 'best_gcs_bytes',
  s3Objects: 'best_s3_objects',
  gcsObjects: 'best_gcs_objects',
  /** Where the figures come from: measured by a check or rsync, the S3 Inventory, or the listing and copy counters. */
  source: `IF(${MEASURED}, 'measured', IF(${FROM_INVENTORY}, 'inventory', IF(phase = 0, 'none', 'listed')))`,
} as const;

/**
 * Per phase, the subfolders and the sums of their BEST_KNOWN sides, from the totals the state table's
 * triggers keep (src/state/totals.ts): a few rows read, whatever the table's size.
 */
export async function phaseTotals(db: Db, table: string): Promise<PhaseTotals> {
  const read = await readTotals(db, table);
  const phases = Object.fromEntries(PHASES.map((p) => [p, emptyTotals()])) as PhaseTotals;
  for (const r of read.phases) {
    const name = PHASES[r.phase];
    if (!name) continue;
    phases[name] = { subfolders: r.subfolders, s3Bytes: r.s3Bytes, gcsBytes: r.gcsBytes, s3Objects: r.s3Objects, gcsObjects: r.gcsObjects };
  }
  return phases;
}

/** A worker mode's claims: held rows, live or stale (lease expired or hand-set), and a sample. */
export async function claimInfo(db: Db, table: string, mode: WorkMode, sampleSize: number): Promise<ClaimInfo> {
  const t = tableName(table);
  const c = workLease(mode);
  // Among held rows (flag on), a free lease is a stale one.
  const stale = leaseFree(c);
  const [[counts]] = await db.query<RowDataPacket[]>(`SELECT SUM(${stale}) AS stale, SUM(NOT ${stale}) AS live FROM ${t} WHERE ${c.inProgress} = TRUE`);
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, ${c.owner} AS owner, ${c.until} AS lease_until, ${stale} AS stale FROM ${t} WHERE ${c.inProgress} = TRUE ORDER BY ${c.until} LIMIT ?`,
    [sampleSize],
  );
  return {
    live: n(counts.live),
    stale: n(counts.stale),
    sample: rows.map((r) => ({ dirKey: r.dir_key as string, owner: (r.owner as string | null) ?? null, leaseUntil: (r.lease_until as Date | null) ?? null, stale: n(r.stale) === 1 })),
  };
}

/** Objects deleted from S3 after their copy, as the delta passes recorded them (through ix_delta_gone, sql/009). */
export async function goneFromS3(db: Db, table: string, sampleSize: number): Promise<GoneFromS3> {
  const t = tableName(table);
  const [[sums]] = await db.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS subfolders, SUM(delta_gone_objects) AS objects, SUM(delta_gone_removed) AS removed FROM ${t} FORCE INDEX (ix_delta_gone) WHERE delta_gone_objects > 0`,
  );
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, delta_gone_sample FROM ${t} FORCE INDEX (ix_delta_gone) WHERE delta_gone_objects > 0 AND delta_gone_objects > delta_gone_removed LIMIT ?`,
    [sampleSize],
  );
  const names = (v: unknown): string[] => {
    try {
      return typeof v === 'string' ? (JSON.parse(v) as string[]) : [];
    } catch {
      return [];
    }
  };
  return {
    subfolders: n(sums.subfolders),
    objects: n(sums.objects),
    removed: n(sums.removed),
    sample: rows.map((r) => ({ dirKey: r.dir_key as string, names: names(r.delta_gone_sample) })),
  };
}

/** The newest failed subfolders, with the mode whose error column says why. */
export async function recentErrors(db: Db, table: string, limit: number): Promise<RecentError[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, updated_at, ${ERROR_COLUMNS} FROM ${tableName(table)} FORCE INDEX (ix_phase_updated)
     WHERE phase = ? ORDER BY updated_at DESC LIMIT ?`,
    [FAILED_PHASE, limit],
  );
  return rows.map((r) => {
    const e = lastError(r);
    return { dirKey: r.dir_key as string, at: r.updated_at as Date, mode: e.mode || '?', error: e.error };
  });
}

/** The error columns lastError() reads, for the statements that select them. */
export const ERROR_COLUMNS = 'sync_check_error, rsync_error, cdn_publish_error, sync_check_publish_error, rsync_publish_error, last_ended_mode';

/** A row's last error and the mode that wrote it ('' and null when it has none). */
export function lastError(r: Record<string, unknown>): { mode: string; error: string } {
  // The worker that ended last tells the story: a check past max_rsync_attempts says why beside the last rsync's error.
  const workers: [string, unknown][] = [
    ['rsync', r.rsync_error],
    ['syncCheck', r.sync_check_error],
  ];
  if (r.last_ended_mode === 'syncCheck') workers.reverse();
  const sources: [string, unknown][] = [
    ...workers,
    ['publishObjectsList', r.cdn_publish_error],
    ['publishDirList syncCheck', r.sync_check_publish_error],
    ['publishDirList rsync', r.rsync_publish_error],
  ];
  const [mode, error] = sources.find(([, e]) => e !== null && e !== undefined) ?? ['', ''];
  return { mode, error: String(error ?? '') };
}
