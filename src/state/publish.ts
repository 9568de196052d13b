// The publishers' transitions (sql/README.md, "The life of a subfolder"): rows claimed in batches by id,
// held by `*_publish_owner` / `*_publish_lease_until` (src/state/leases.ts) until their published flag is
// set. Each statement carries the expected old state in its WHERE; its affected-row count is the proof
// (mysql2 sets CLIENT_FOUND_ROWS, so a row that matched counts even when nothing changed).
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { tableName } from '../common/db.js';
import { heldBy, LEASES, publishLease, type Holder, type PublishKind } from './leases.js';
import { claimable, claimableWalk, toRows, type PendingRow, type Recheck, type WalkCursor } from './publishable.js';

export interface ClaimResult {
  /** Claimable rows seen by the candidate read. */
  seen: number;
  /** The rows this claim took (in id order): fewer than asked when another publisher took some first. */
  rows: PendingRow[];
  /** A walk (`after` given): where the next claim continues (publishable.ts claimableWalk). */
  next?: WalkCursor;
}

/**
 * new -> publishing: claims up to `limit` claimable rows (free or expired lease) for `h.owner` until
 * UTC_TIMESTAMP() + leaseSeconds. Returns the rows taken: exactly those whose lease is now ours.
 * The candidate read takes no locks and sorts nothing (a locking scan of a million-row table would block
 * the workers); the claim is the UPDATE, which re-checks every condition, so its affected rows are what
 * we got: all of the chosen candidates (the usual case, no further read) or, after a collision, the ones
 * a read finds ours. A reply lost after the UPDATE leaves its rows leased to us but not in hand: they are
 * taken over after the lease, like a dead publisher's.
 * With `after` the candidates are read from there on (a walk, publishable.ts claimableWalk): for the dir
 * lists, whose claimable rows no index narrows down (most rows are unpublished for rsync and fine), a read
 * from the start each time would pass over every row already looked at again, making a run quadratic in
 * the table. A recheck walks its two branches one after the other, each in the order of its own index.
 * A recheck or delta claim also turns a consumed published flag off: the row is in hand again, as after a
 * worker's unpublishDir, so the renewal, flag and release below hold it by the same `published = FALSE`.
 */
export async function claimForPublish(h: Holder, kind: PublishKind, limit: number, recheck?: Recheck, after?: WalkCursor, random: () => number = Math.random): Promise<ClaimResult> {
  const c = publishLease(kind);
  const t = tableName(h.table);
  const cond = claimable(kind, recheck);
  // From a random point of the table (spreadCandidates): more candidates than needed, a random subset
  // claimed, so publishers starting together rarely collide and writes spread over the key space. A walk takes exactly what it reads: publishers that collide once move on past each
  // other's rows, and nothing is read twice.
  const walk = after === undefined ? undefined : await claimableWalk(h.db, h.table, kind, after, limit, recheck);
  const rows = walk ? walk.rows : toRows(await spreadCandidates(h, t, cond, limit * 4, random));
  if (!rows.length) return { seen: 0, rows: [], next: after };
  const chosen = walk ? rows : shuffledIndexes(rows.length).slice(0, limit).map((i) => rows[i]).sort((a, b) => a.id - b.id);
  const next = walk?.next;
  const ids = chosen.map((r) => r.id);
  const unflag = recheck ? `, ${c.published} = FALSE` : '';
  const [r] = await h.db.query<ResultSetHeader>(`UPDATE ${t} SET ${c.owner} = ?, ${c.until} = UTC_TIMESTAMP() + INTERVAL ? SECOND${unflag} WHERE id IN (?) AND ${cond.where}`, [
    h.owner,
    h.leaseSeconds,
    ids,
    ...cond.params,
  ]);
  if (r.affectedRows === chosen.length) return { seen: rows.length, rows: chosen, next };
  if (r.affectedRows === 0) return { seen: rows.length, rows: [], next };
  return { seen: rows.length, rows: await heldAmong(h, kind, ids), next };
}

/**
 * Candidates read from a random point of the id range on, then from the start up to it if that is not
 * enough. Dump inserts subfolders in S3's key order, so ids follow the keys: publishers that took the
 * first claimable rows would publish, and the workers write, one narrow stretch of names after another,
 * which GCS serves from one hot key range (its guidance: spread writes over the key space). Two
 * primary-key range reads, no sort.
 */
async function spreadCandidates(h: Holder, t: string, cond: { where: string; params: unknown[] }, want: number, random: () => number): Promise<RowDataPacket[]> {
  const [[range]] = await h.db.query<RowDataPacket[]>(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${t}`);
  if (range.lo === null) return [];
  const lo = Number(range.lo);
  const start = lo + Math.floor(random() * (Number(range.hi) - lo + 1));
  const [after] = await h.db.query<RowDataPacket[]>(`SELECT id, dir_key FROM ${t} WHERE ${cond.where} AND id >= ? LIMIT ?`, [...cond.params, start, want]);
  if (after.length >= want || start === lo) return after;
  const [before] = await h.db.query<RowDataPacket[]>(`SELECT id, dir_key FROM ${t} WHERE ${cond.where} AND id < ? LIMIT ?`, [...cond.params, start, want - after.length]);
  return [...after, ...before];
}

function shuffledIndexes(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Of these rows, the unpublished ones `h.owner` holds a live lease on (a claim's read-back after a collision). */
async function heldAmong(h: Holder, kind: PublishKind, ids: number[]): Promise<PendingRow[]> {
  const c = publishLease(kind);
  const [rows] = await h.db.query<RowDataPacket[]>(`SELECT id, dir_key FROM ${tableName(h.table)} WHERE id IN (?) AND ${heldBy(c)} AND ${c.until} >= UTC_TIMESTAMP() ORDER BY id`, [
    ids,
    h.owner,
  ]);
  return toRows(rows);
}

/**
 * publishing -> publishing, later: pushes `h.owner`'s leases on these rows to UTC_TIMESTAMP() +
 * leaseSeconds. Returns how many it still holds: fewer means a row was flagged meanwhile or taken over.
 */
export async function renewPublishLeases(h: Holder, kind: PublishKind, ids: number[]): Promise<number> {
  if (!ids.length) return 0;
  const c = publishLease(kind);
  const [r] = await h.db.query<ResultSetHeader>(`UPDATE ${tableName(h.table)} SET ${c.until} = UTC_TIMESTAMP() + INTERVAL ? SECOND WHERE id IN (?) AND ${heldBy(c)}`, [
    h.leaseSeconds,
    ids,
    h.owner,
  ]);
  return r.affectedRows;
}

/** What one subfolder's objects-list publish sent: recorded on its row when it is flagged. */
export interface PublishedObjects {
  id: number;
  objects: number;
  bytes: number;
}

/**
 * publishing -> published for many objects-list rows at once, each with what was published (the
 * reference's update: `initial_transfer = FALSE`); the owner stays as who published it. Returns the ids
 * `h.owner` flagged. One statement for a whole group of finished subfolders (a publisher finishes
 * hundreds a second: one UPDATE each cost more database CPU than the publishing). Its affected rows are
 * the proof: when every row matched, all were ours; fewer (a lease was taken over) and a read names which
 * ones. The same read makes a flag retried after a lost reply come out right.
 */
export async function markObjectsPublished(h: Holder, rows: PublishedObjects[]): Promise<Set<number>> {
  if (!rows.length) return new Set();
  const c = LEASES.cdnPublish;
  const ids = rows.map((r) => r.id);
  const whens = rows.map(() => 'WHEN ? THEN ?').join(' ');
  const [r] = await h.db.query<ResultSetHeader>(
    `UPDATE ${tableName(h.table)} SET ${c.published} = TRUE, initial_transfer = FALSE,
       published_objects = CASE id ${whens} END, published_bytes = CASE id ${whens} END,
       cdn_published_at = UTC_TIMESTAMP(), ${c.until} = NULL, ${c.error} = NULL
     WHERE id IN (?) AND ${heldBy(c)}`,
    [...rows.flatMap((x) => [x.id, x.objects]), ...rows.flatMap((x) => [x.id, x.bytes]), ids, h.owner],
  );
  return r.affectedRows === rows.length ? new Set(ids) : flaggedBy(h, 'cdn', ids);
}

/** What one subfolder's delta pass published and found: recorded on its row when it is flagged. */
export interface PublishedDelta {
  id: number;
  newObjects: number;
  changedObjects: number;
  /** Bytes of the new and changed objects published. */
  bytes: number;
  /** GCS objects whose S3 source is gone (deleted after its copy). */
  goneObjects: number;
  /** Of those, how many this pass removed from GCS (opt-in). */
  goneRemoved: number;
  /** Up to 10 of their GCS names. */
  goneSample: string[];
}

/**
 * delta publishing -> delta published for many rows at once, each with what its delta pass published and
 * found, and `delta_published_at` (once per run: publishable.ts). Returns the ids `h.owner` flagged, as
 * markObjectsPublished does (and for the same reason, one statement per group). The first publish's
 * columns (published_*, cdn_transfer_published) are left as they are.
 */
export async function markDeltaPublished(h: Holder, rows: PublishedDelta[]): Promise<Set<number>> {
  if (!rows.length) return new Set();
  const c = LEASES.deltaPublish;
  const ids = rows.map((r) => r.id);
  const cols: [string, (r: PublishedDelta) => unknown][] = [
    ['delta_new_objects', (r) => r.newObjects],
    ['delta_changed_objects', (r) => r.changedObjects],
    ['delta_bytes', (r) => r.bytes],
    ['delta_gone_objects', (r) => r.goneObjects],
    ['delta_gone_removed', (r) => r.goneRemoved],
    ['delta_gone_sample', (r) => (r.goneSample.length ? JSON.stringify(r.goneSample) : null)],
  ];
  const whens = rows.map(() => 'WHEN ? THEN ?').join(' ');
  const [r] = await h.db.query<ResultSetHeader>(
    `UPDATE ${tableName(h.table)} SET ${c.published} = TRUE, delta_published_at = UTC_TIMESTAMP(), ${c.until} = NULL, ${c.error} = NULL,
       ${cols.map(([col]) => `${col} = CASE id ${whens} END`).join(', ')}
     WHERE id IN (?) AND ${heldBy(c)}`,
    [...cols.flatMap(([, v]) => rows.flatMap((x) => [x.id, v(x)])), ids, h.owner],
  );
  return r.affectedRows === rows.length ? new Set(ids) : flaggedBy(h, 'delta', ids);
}

/**
 * publishing -> published for many dir-list rows at once (syncCheck: with sync_check_published_at, which
 * keeps a recheck run from taking the row again); returns the ids `h.owner` flagged, as above.
 */
export async function markDirPublished(h: Holder, kind: Exclude<PublishKind, 'cdn' | 'delta'>, ids: number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const c = publishLease(kind);
  const at = kind === 'syncCheck' ? ', sync_check_published_at = UTC_TIMESTAMP()' : '';
  const [r] = await h.db.query<ResultSetHeader>(`UPDATE ${tableName(h.table)} SET ${c.published} = TRUE, ${c.until} = NULL, ${c.error} = NULL${at} WHERE id IN (?) AND ${heldBy(c)}`, [
    ids,
    h.owner,
  ]);
  return r.affectedRows === ids.length ? new Set(ids) : flaggedBy(h, kind, ids);
}

// Which of `ids` a group flag just took: a flag keeps the owner, a takeover replaced it, and a flagged row
// is claimable again only by a later recheck run or an operator's reset, not in the instant in between.
async function flaggedBy(h: Holder, kind: PublishKind, ids: number[]): Promise<Set<number>> {
  const c = publishLease(kind);
  const [rows] = await h.db.query<RowDataPacket[]>(`SELECT id FROM ${tableName(h.table)} WHERE id IN (?) AND ${c.owner} = ? AND ${c.published} = TRUE`, [ids, h.owner]);
  return new Set(rows.map((x) => Number(x.id)));
}

/**
 * publishing -> new, with the reason (null clears it): claimable again after retryAfterSeconds (0: at
 * once), so a failing subfolder is retried later instead of in a hot loop. False if the row is not ours.
 */
export async function releasePublish(h: Holder, kind: PublishKind, id: number, error: string | null, retryAfterSeconds: number): Promise<boolean> {
  const c = publishLease(kind);
  const [r] = await h.db.query<ResultSetHeader>(
    `UPDATE ${tableName(h.table)} SET ${c.owner} = NULL, ${c.until} = IF(? > 0, UTC_TIMESTAMP() + INTERVAL ? SECOND, NULL), ${c.error} = ?
     WHERE id = ? AND ${heldBy(c)}`,
    [retryAfterSeconds, retryAfterSeconds, error === null ? null : error.slice(0, 4000), id, h.owner],
  );
  return r.affectedRows === 1;
}
