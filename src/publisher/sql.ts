// The publishers' state transitions (sql/README.md, "The life of a subfolder"). Each statement carries
// the expected old state in its WHERE; its affected-row count is the proof (mysql2 sets CLIENT_FOUND_ROWS,
// so a row that matched counts even when nothing changed). Times are the database's clock, never a VM's.
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';

/** What is being published: objects lists for cdnTransfer, or subfolders for syncCheck / rsync. */
export type PublishKind = 'cdn' | 'syncCheck' | 'rsync';

interface Columns {
  published: string;
  owner: string;
  leaseUntil: string;
  error: string;
  /** Which unpublished rows this kind wants (besides the published flag and the lease). */
  eligible: string;
}

// Built in, never from config: the columns are fixed names, so no statement can be changed by input.
const COLUMNS: Record<PublishKind, Columns> = {
  cdn: {
    published: 'cdn_transfer_published',
    owner: 'cdn_publish_owner',
    leaseUntil: 'cdn_publish_lease_until',
    error: 'cdn_publish_error',
    eligible: 'initial_transfer = TRUE',
  },
  syncCheck: {
    published: 'sync_check_published',
    owner: 'sync_check_publish_owner',
    leaseUntil: 'sync_check_publish_lease_until',
    error: 'sync_check_publish_error',
    // The reference's condition, minus subfolders still waiting for their objects list to be published,
    // plus subfolders rsynced since their last check: a repair is confirmed by a check, never assumed.
    eligible:
      '(gcs_size = 0 OR sync_check_frequency = 0 OR rsync_last_end > sync_check_last_end) AND (initial_transfer = FALSE OR cdn_transfer_published = TRUE)',
  },
  rsync: {
    published: 'rsync_published',
    owner: 'rsync_publish_owner',
    leaseUntil: 'rsync_publish_lease_until',
    error: 'rsync_publish_error',
    eligible: 'sync_check_frequency > 0 AND (s3_size <> gcs_size OR s3_objects <> gcs_objects)',
  },
};

export interface PendingRow {
  id: number;
  dirKey: string;
}

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
  AND (sync_check_in_progress = FALSE OR sync_check_lease_until IS NULL OR sync_check_lease_until < UTC_TIMESTAMP())
  AND (rsync_in_progress = FALSE OR rsync_lease_until IS NULL OR rsync_lease_until < UTC_TIMESTAMP())`;

/** The claimable condition and its parameters: the kind's own rows, plus (recheck) the re-check-due ones. */
function claimable(kind: PublishKind, recheck?: Recheck): { where: string; params: unknown[] } {
  const c = COLUMNS[kind];
  const leaseFree = `(${c.leaseUntil} IS NULL OR ${c.leaseUntil} < NOW())`;
  if (!recheck) return { where: `${c.published} = FALSE AND ${c.eligible} AND ${leaseFree}`, params: [] };
  if (kind !== 'syncCheck') throw new Error(`--recheck applies to --purpose syncCheck only, got ${JSON.stringify(kind)}`);
  const before = recheck.before < recheck.runStart ? recheck.before : recheck.runStart;
  return { where: `((${c.published} = FALSE AND ${c.eligible}) OR (${RECHECK_DUE})) AND ${leaseFree}`, params: [before, recheck.runStart] };
}

/** The database's UTC clock now, in whole seconds like every DATETIME it compares with: a recheck run's start. */
export async function dbNow(db: Db): Promise<Date> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT UTC_TIMESTAMP() AS now');
  return r.now as Date;
}

export interface ClaimResult {
  /** Claimable rows seen by the candidate read. */
  seen: number;
  /** The rows this claim took (in id order): fewer than asked when another publisher took some first. */
  rows: PendingRow[];
  /** A walk in id order (`afterId` given): where the next claim continues. */
  next?: number;
}

/**
 * Claims up to `limit` free or expired rows for `owner` until NOW() + leaseSeconds. The candidate read
 * takes no locks and sorts nothing (a locking scan of a million-row table would block the workers); the
 * claim is the UPDATE, which re-checks every condition, so its affected rows are exactly what we got:
 * all of the chosen candidates (the usual case, no further read) or, after a collision, the ones a read
 * finds ours. A reply lost after the UPDATE leaves its rows leased to us but not in hand: they are taken
 * over after the lease, like a dead publisher's.
 * With `afterId` the candidates are read in id order from there (a walk): for the dir lists, whose
 * claimable rows no index narrows down (most rows are unpublished for rsync and fine), a read from the
 * start each time would pass over every row already looked at again, making a run quadratic in the table.
 * A recheck claim also turns a consumed published flag off: the row is in hand again, as after a worker's
 * unpublish, so the renewal, flag and release below hold it by the same `published = FALSE`.
 */
export async function claim(db: Db, table: string, kind: PublishKind, owner: string, leaseSeconds: number, limit: number, recheck?: Recheck, afterId?: number): Promise<ClaimResult> {
  const c = COLUMNS[kind];
  const t = tableName(table);
  const cond = claimable(kind, recheck);
  // From the start: more candidates than needed, a random subset claimed, so publishers starting together
  // rarely collide. A walk takes exactly what it reads: publishers that collide once move on past each
  // other's rows, and nothing is read twice.
  const walking = afterId !== undefined;
  const [candidates] = await db.query<RowDataPacket[]>(`SELECT id, dir_key FROM ${t} WHERE ${cond.where}${walking ? ' AND id > ? ORDER BY id' : ''} LIMIT ?`, [
    ...cond.params,
    ...(walking ? [afterId] : []),
    walking ? limit : limit * 4,
  ]);
  if (!candidates.length) return { seen: 0, rows: [], next: afterId };
  const rows = candidates.map((r) => ({ id: Number(r.id), dirKey: r.dir_key as string }));
  const chosen = walking ? rows : shuffledIndexes(rows.length).slice(0, limit).sort((a, b) => a - b).map((i) => rows[i]);
  const next = walking ? rows[rows.length - 1].id : undefined;
  const ids = chosen.map((r) => r.id);
  const unflag = recheck ? `, ${c.published} = FALSE` : '';
  const [r] = await db.query<ResultSetHeader>(`UPDATE ${t} SET ${c.owner} = ?, ${c.leaseUntil} = NOW() + INTERVAL ? SECOND${unflag} WHERE id IN (?) AND ${cond.where}`, [
    owner,
    leaseSeconds,
    ids,
    ...cond.params,
  ]);
  if (r.affectedRows === chosen.length) return { seen: candidates.length, rows: chosen, next };
  if (r.affectedRows === 0) return { seen: candidates.length, rows: [], next };
  return { seen: candidates.length, rows: await ownedAmong(db, table, kind, owner, ids), next };
}

function shuffledIndexes(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Of these rows, the unpublished ones `owner` holds a live lease on. */
async function ownedAmong(db: Db, table: string, kind: PublishKind, owner: string, ids: number[]): Promise<PendingRow[]> {
  const c = COLUMNS[kind];
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT id, dir_key FROM ${tableName(table)} WHERE id IN (?) AND ${c.owner} = ? AND ${c.published} = FALSE AND ${c.leaseUntil} >= NOW() ORDER BY id`,
    [ids, owner],
  );
  return rows.map((r) => ({ id: Number(r.id), dirKey: r.dir_key as string }));
}

/** Extends `owner`'s leases on these rows; returns how many it still holds (fewer: a lease was taken over). */
export async function renew(db: Db, table: string, kind: PublishKind, owner: string, ids: number[], leaseSeconds: number): Promise<number> {
  if (!ids.length) return 0;
  const c = COLUMNS[kind];
  const [r] = await db.query<ResultSetHeader>(
    `UPDATE ${tableName(table)} SET ${c.leaseUntil} = NOW() + INTERVAL ? SECOND WHERE id IN (?) AND ${c.owner} = ? AND ${c.published} = FALSE`,
    [leaseSeconds, ids, owner],
  );
  return r.affectedRows;
}

/** What one subfolder's objects-list publish sent: recorded on its row when it is flagged. */
export interface PublishedObjects {
  id: number;
  objects: number;
  bytes: number;
}

/**
 * publishing -> published for many rows at once, each with what was published; returns the ids `owner`
 * flagged. One statement for a whole group of finished subfolders (a publisher finishes hundreds a
 * second: one UPDATE each cost more database CPU than the publishing). Its affected rows are the proof:
 * when every row matched, all were ours; fewer (a lease was taken over) and a read names which ones.
 */
export async function markObjectsPublished(db: Db, table: string, owner: string, rows: PublishedObjects[]): Promise<Set<number>> {
  if (!rows.length) return new Set();
  const ids = rows.map((r) => r.id);
  const whens = rows.map(() => 'WHEN ? THEN ?').join(' ');
  const [r] = await db.query<ResultSetHeader>(
    `UPDATE ${tableName(table)} SET cdn_transfer_published = TRUE, initial_transfer = FALSE,
       published_objects = CASE id ${whens} END, published_bytes = CASE id ${whens} END,
       cdn_published_at = NOW(), cdn_publish_lease_until = NULL, cdn_publish_error = NULL
     WHERE id IN (?) AND cdn_publish_owner = ? AND cdn_transfer_published = FALSE`,
    [...rows.flatMap((x) => [x.id, x.objects]), ...rows.flatMap((x) => [x.id, x.bytes]), ids, owner],
  );
  return r.affectedRows === rows.length ? new Set(ids) : flaggedBy(db, table, 'cdn', owner, ids);
}

/**
 * publishing -> published for many dir-list rows at once (syncCheck: with sync_check_published_at, which
 * keeps a recheck run from taking the row again); returns the ids `owner` flagged, as above.
 */
export async function markDirPublished(db: Db, table: string, kind: Exclude<PublishKind, 'cdn'>, owner: string, ids: number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const c = COLUMNS[kind];
  const at = kind === 'syncCheck' ? ', sync_check_published_at = UTC_TIMESTAMP()' : '';
  const [r] = await db.query<ResultSetHeader>(
    `UPDATE ${tableName(table)} SET ${c.published} = TRUE, ${c.leaseUntil} = NULL, ${c.error} = NULL${at} WHERE id IN (?) AND ${c.owner} = ? AND ${c.published} = FALSE`,
    [ids, owner],
  );
  return r.affectedRows === ids.length ? new Set(ids) : flaggedBy(db, table, kind, owner, ids);
}

// Which of `ids` a group flag just took: a flag keeps the owner, a takeover replaced it, and a flagged row
// is claimable again only by a later recheck run or an operator's reset, not in the instant in between.
async function flaggedBy(db: Db, table: string, kind: PublishKind, owner: string, ids: number[]): Promise<Set<number>> {
  const c = COLUMNS[kind];
  const [rows] = await db.query<RowDataPacket[]>(`SELECT id FROM ${tableName(table)} WHERE id IN (?) AND ${c.owner} = ? AND ${c.published} = TRUE`, [ids, owner]);
  return new Set(rows.map((x) => Number(x.id)));
}

/**
 * publishing -> unpublished, with the reason (null clears it); claimable again after retryAfterSeconds
 * (0: at once), so a failing subfolder is retried later instead of in a hot loop. False if not ours.
 */
export async function release(db: Db, table: string, kind: PublishKind, id: number, owner: string, error: string | null, retryAfterSeconds: number): Promise<boolean> {
  const c = COLUMNS[kind];
  const [r] = await db.query<ResultSetHeader>(
    `UPDATE ${tableName(table)} SET ${c.owner} = NULL, ${c.leaseUntil} = IF(? > 0, NOW() + INTERVAL ? SECOND, NULL), ${c.error} = ?
     WHERE id = ? AND ${c.owner} = ? AND ${c.published} = FALSE`,
    [retryAfterSeconds, retryAfterSeconds, error === null ? null : error.slice(0, 4000), id, owner],
  );
  return r.affectedRows === 1;
}

/** Dry run: a page of the rows a claim would take now, after `afterId`, without touching them. */
export async function claimablePage(db: Db, table: string, kind: PublishKind, afterId: number, limit: number, recheck?: Recheck): Promise<PendingRow[]> {
  const cond = claimable(kind, recheck);
  const [rows] = await db.query<RowDataPacket[]>(`SELECT id, dir_key FROM ${tableName(table)} WHERE ${cond.where} AND id > ? ORDER BY id LIMIT ?`, [
    ...cond.params,
    afterId,
    limit,
  ]);
  return rows.map((r) => ({ id: Number(r.id), dirKey: r.dir_key as string }));
}

/** How many rows a claim could take now: the total behind the progress ETA. */
export async function countClaimable(db: Db, table: string, kind: PublishKind, recheck?: Recheck): Promise<number> {
  const cond = claimable(kind, recheck);
  const [[r]] = await db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${tableName(table)} WHERE ${cond.where}`, cond.params);
  return Number(r.n);
}
