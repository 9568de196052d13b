// Which rows each publisher may claim (src/publisher/README.md, "Which rows each mode takes"), and the
// reads over them: the walk (a claim's candidates, a dry run's pages) and the count behind the progress ETA. The claim itself is in
// publish.ts; it re-checks the same condition in its UPDATE.
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { dbNow, wholeSecond } from './clock.js';
import { LEASES, leaseFree, publishLease, type PublishKind } from './leases.js';

export interface PendingRow {
  id: number;
  dirKey: string;
}

export const toRows = (rows: RowDataPacket[]): PendingRow[] => rows.map((r) => ({ id: Number(r.id), dirKey: r.dir_key as string }));

// Which unpublished rows each kind wants, besides the published flag and the lease (delta: DELTA_DUE).
const ELIGIBLE: Record<Exclude<PublishKind, 'delta'>, string> = {
  cdn: 'initial_transfer = TRUE',
  // The reference's condition, minus subfolders still waiting for their objects list to be published,
  // plus subfolders rsynced since their last check: a repair is confirmed by a check, never assumed.
  // Both ends are whole seconds: within one, last_ended_mode says which came last (sql/008).
  syncCheck:
    `(gcs_size = 0 OR sync_check_frequency = 0 OR rsync_last_end > sync_check_last_end OR (rsync_last_end = sync_check_last_end AND last_ended_mode <=> 'rsync'))
      AND (initial_transfer = FALSE OR cdn_transfer_published = TRUE)`,
  // Checked and mismatched (phase 4: sizes, counts, or a --deep finding differ; not rsynced since the
  // check, not failed), and the backoff since its last rsync has passed. Past max_rsync_attempts the check
  // records the subfolder failed (phase 6), so the cap needs no condition here.
  rsync: 'phase = 4 AND (rsync_next_at IS NULL OR rsync_next_at <= UTC_TIMESTAMP())',
};

/**
 * `publishDirList --purpose syncCheck --recheck`: subfolders already checked are due again when their
 * last check ended before `before`. Both instants are the database's UTC clock.
 */
export interface Recheck {
  /** Rows whose sync_check_last_end is not later (whole seconds) are re-checked (at most `runStart`). */
  before: Date;
  /** When this publisher run started: a row published since is not taken again by this run. */
  runStart: Date;
}

/**
 * A recheck run's instants: its start by the database's clock, in whole seconds like the
 * sync_check_published_at it is compared with (a row this run stamps in its first second must not look
 * older than the run), and `before` (default and at most: the run's start).
 */
export async function startRecheck(db: Db, before?: Date): Promise<Recheck> {
  const runStart = wholeSecond(await dbNow(db));
  return { before: before && before < runStart ? before : runStart, runStart };
}

// A recheck-due row: its objects list was published (its data was sent), its last check ended before the
// instant, no check or rsync holds it now (a live lease), it was not published by this run already
// (sync_check_published_at older than the run's start: the guard that makes it once per run, since its
// sync_check_last_end stays old until a worker checks it), and its published flag is off or was consumed
// (a worker claimed the row since the publish; a publish from before migration 006 counts as consumed:
// at worst one harmless duplicate message). The flag stays TRUE after a check, so it cannot be the test.
// `<=`: DATETIMEs hold whole seconds, so a check ending in the instant's own second may have ended before
// it; re-checking it costs one check, skipping it would lose a verification.
const RECHECK_DUE = `cdn_transfer_published = TRUE AND sync_check_last_end <= ?
  AND (sync_check_published_at IS NULL OR sync_check_published_at < ?)
  AND (sync_check_published = FALSE OR sync_check_published_at IS NULL OR sync_check_last_start >= sync_check_published_at)
  AND ${leaseFree(LEASES.syncCheck)}
  AND ${leaseFree(LEASES.rsync)}`;

// A delta-due row (publishObjectsList --delta): its first objects list was published and is no longer
// being copied (phase 1, "published", is a first copy still under way: a delta then would publish again
// everything not copied yet; the row becomes due once cdnTransfer counted its objects or a check measured
// it), and no delta run flagged it since this run started (delta_published_at, 009_delta.sql: the guard
// that makes it once per run; a row released after a failure keeps its old stamp and is retried by the
// same run after the delay). Its flag (delta_published) is not part of it: the claim turns it off, as a
// recheck claim does.
const DELTA_DUE = 'initial_transfer = FALSE AND cdn_transfer_published = TRUE AND phase <> 1 AND (delta_published_at IS NULL OR delta_published_at < ?)';

/**
 * The claimable condition and its parameters: the kind's own rows, plus (recheck) the re-check-due ones.
 * A delta claim always has a run: its start is `recheck.runStart` (startRecheck), `before` is unused.
 */
export function claimable(kind: PublishKind, recheck?: Recheck): { where: string; params: unknown[] } {
  const c = publishLease(kind);
  if (kind === 'delta') {
    if (!recheck) throw new Error("a delta claim needs its run's start (startRecheck)");
    return { where: `${DELTA_DUE} AND ${leaseFree(c)}`, params: [recheck.runStart] };
  }
  if (!recheck) return { where: `${c.published} = FALSE AND ${ELIGIBLE[kind]} AND ${leaseFree(c)}`, params: [] };
  if (kind !== 'syncCheck') throw new Error(`--recheck applies to --purpose syncCheck only, got ${JSON.stringify(kind)}`);
  const before = recheck.before < recheck.runStart ? recheck.before : recheck.runStart;
  return { where: `((${c.published} = FALSE AND ${ELIGIBLE[kind]}) OR (${RECHECK_DUE})) AND ${leaseFree(c)}`, params: [before, recheck.runStart] };
}

/**
 * The claimable condition as a disjunction of branches, each with its own index. A recheck's OR of "due by
 * the usual criteria" and RECHECK_DUE defeats every index as one condition: a walk read the table in id
 * order to find its rows and a count read every row. Apart, the usual branch is a ref of ix_sync_check_due
 * (sql/016: the unpublished rows in id order) and RECHECK_DUE a range of ix_recheck_due (sql/016: the
 * checks that ended by the instant), so they read what is due, not the table. A row may satisfy both; the
 * due branch leaves out what the usual one takes (`IS NOT TRUE`: a NULL there is "not taken"), so a walk
 * that claims nothing (a dry run) meets each row once.
 */
function claimableBranches(kind: PublishKind, recheck?: Recheck): { usual: { where: string; params: unknown[] }; due?: { where: string; params: unknown[] } } {
  const whole = claimable(kind, recheck); // validates kind and run, as every claim does
  if (!recheck || kind !== 'syncCheck') return { usual: whole };
  const c = publishLease(kind);
  const usual = `${c.published} = FALSE AND ${ELIGIBLE[kind]} AND ${leaseFree(c)}`;
  return {
    usual: { where: usual, params: [] },
    due: { where: `${RECHECK_DUE} AND ${leaseFree(c)} AND (${usual}) IS NOT TRUE`, params: whole.params },
  };
}

/**
 * Where a walking claim continues: a number is an id (the walk in id order; 0 is the start); a recheck
 * walks its usual branch in id order, then its RECHECK_DUE rows in ix_recheck_due's order (`end`, `id`:
 * after that row; no `end`: from the branch's start).
 */
export type WalkCursor = number | { end?: Date; id: number };

/**
 * Up to `limit` claimable rows after `after` and where the walk goes on from them, read without locks
 * (the claim re-checks every condition). A walk's read never passes a row twice: each branch is read in
 * the order of the index that finds its rows, from where the last read ended; a branch that returns fewer
 * rows than asked is done and the next read starts the next branch. Nothing left: no rows, `next` = `after`.
 */
export async function claimableWalk(db: Db, table: string, kind: PublishKind, after: WalkCursor, limit: number, recheck?: Recheck): Promise<{ rows: PendingRow[]; next: WalkCursor }> {
  const t = tableName(table);
  const { usual, due } = claimableBranches(kind, recheck);
  if (typeof after === 'number') {
    const [found] = await db.query<RowDataPacket[]>(`SELECT id, dir_key FROM ${t} WHERE ${usual.where} AND id > ? ORDER BY id LIMIT ?`, [...usual.params, after, limit]);
    const rows = toRows(found);
    if (!due) return { rows, next: rows.length ? rows[rows.length - 1].id : after };
    if (rows.length === limit) return { rows, next: rows[rows.length - 1].id };
    if (rows.length) return { rows, next: { id: 0 } };
    after = { id: 0 };
  }
  if (!due) throw new Error(`a walk of ${kind} has no recheck branch to continue in`);
  const from = after.end ? 'AND (sync_check_last_end > ? OR (sync_check_last_end = ? AND id > ?))' : '';
  const [found] = await db.query<RowDataPacket[]>(
    `SELECT id, dir_key, sync_check_last_end AS last_end FROM ${t} WHERE ${due.where} ${from} ORDER BY sync_check_last_end, id LIMIT ?`,
    [...due.params, ...(after.end ? [after.end, after.end, after.id] : []), limit],
  );
  if (!found.length) return { rows: [], next: after };
  const last = found[found.length - 1];
  return { rows: toRows(found), next: { end: last.last_end as Date, id: Number(last.id) } };
}

/**
 * How many rows a claim could take now: the total behind the progress ETA. A recheck counts the union of
 * its branches' ids, each read through its index, so this too reads what is due rather than the table.
 */
export async function countClaimable(db: Db, table: string, kind: PublishKind, recheck?: Recheck): Promise<number> {
  const t = tableName(table);
  const { usual, due } = claimableBranches(kind, recheck);
  const [[r]] = due
    ? await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM (SELECT id FROM ${t} WHERE ${usual.where} UNION SELECT id FROM ${t} WHERE ${due.where}) AS claimable`, [
        ...usual.params,
        ...due.params,
      ])
    : await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${t} WHERE ${usual.where}`, usual.params);
  return Number(r.n);
}
