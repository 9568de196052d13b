// The fleet's pace (sql/011_fleet_pace.sql): worker registration and heartbeats, and one shared
// object-write rate per state table that ramps on GCS's schedule and backs off when GCS throttles.
// Every statement is one transition with its contract; the clock is the database's (UTC_TIMESTAMP(6)).
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { readTotals } from './totals.js';

export interface RampSettings {
  startPerSecond: number;
  doublingSeconds: number;
  maxPerSecond: number;
  /** How long the whole fleet pauses after GCS throttles (429/503). */
  backoffSeconds: number;
}

export interface FleetView {
  /** The fleet's object-write rate now (0 while paused). */
  ratePerSecond: number;
  pausedForMs: number;
  /** Live workers of the mode that have work (at least 1), in the fleet and on this worker's host. */
  liveWorkers: number;
  liveOnHost: number;
}

/** (absent) -> the table's pace at the ramp's start; an existing pace is kept (the ramp is the bucket's, not a worker's). */
export async function startPace(db: Db, table: string, r: RampSettings): Promise<void> {
  await db.query('INSERT IGNORE INTO fleet_pace (state_table, rate_now, next_step_at) VALUES (?, ?, UTC_TIMESTAMP(6) + INTERVAL ? SECOND)', [table, r.startPerSecond, r.doublingSeconds]);
}

/** (absent | present) -> this worker registered and heartbeating now, with what it did so far. */
export async function heartbeat(db: Db, table: string, w: { workerId: string; mode: string; host: string; objects: number; bytes: number; throttled: number; share: number; wants: boolean }): Promise<void> {
  await db.query(
    `INSERT INTO workers (state_table, worker_id, mode, host, started_at, heartbeat_at, objects, bytes, throttled, rate_share, wants)
     VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE heartbeat_at = UTC_TIMESTAMP(6), objects = VALUES(objects), bytes = VALUES(bytes), throttled = VALUES(throttled),
       rate_share = VALUES(rate_share), wants = VALUES(wants)`,
    [table, w.workerId, w.mode, w.host, w.objects, w.bytes, w.throttled, w.share, w.wants],
  );
}

/** Registered -> gone: a worker that stops says so instead of waiting to go stale. Returns rows removed. */
export async function deregister(db: Db, table: string, workerId: string): Promise<number> {
  const [r] = await db.query<ResultSetHeader>('DELETE FROM workers WHERE state_table = ? AND worker_id = ?', [table, workerId]);
  return r.affectedRows;
}

/** Ramp step: the rate doubles (up to the max) once next_step_at has passed, unless the fleet is paused. Returns 1 when it stepped. */
export async function stepRamp(db: Db, table: string, r: RampSettings): Promise<number> {
  const [res] = await db.query<ResultSetHeader>(
    `UPDATE fleet_pace SET rate_now = LEAST(?, rate_now * 2), next_step_at = UTC_TIMESTAMP(6) + INTERVAL ? SECOND
     WHERE state_table = ? AND next_step_at <= UTC_TIMESTAMP(6) AND rate_now < ? AND (paused_until IS NULL OR paused_until <= UTC_TIMESTAMP(6))`,
    [r.maxPerSecond, r.doublingSeconds, table, r.maxPerSecond],
  );
  return res.affectedRows;
}

/**
 * Throttled: GCS answered 429/503. The first report in a pause window halves the rate (not below the
 * start), pauses the whole fleet for backoffSeconds and holds the ramp for a doubling period; reports
 * during the pause change nothing. Returns 1 when this report started a pause.
 */
export async function throttleFleet(db: Db, table: string, r: RampSettings): Promise<number> {
  const [res] = await db.query<ResultSetHeader>(
    `UPDATE fleet_pace SET rate_now = GREATEST(?, rate_now / 2), paused_until = UTC_TIMESTAMP(6) + INTERVAL ? SECOND,
       next_step_at = GREATEST(next_step_at, UTC_TIMESTAMP(6) + INTERVAL ? SECOND), throttles = throttles + 1, last_throttle_at = UTC_TIMESTAMP(6)
     WHERE state_table = ? AND (paused_until IS NULL OR paused_until <= UTC_TIMESTAMP(6))`,
    [r.startPerSecond, r.backoffSeconds, r.doublingSeconds, table],
  );
  return res.affectedRows;
}

/** The fleet as this worker sees it: the rate, any pause, and the live workers with work (heartbeat within staleSeconds). */
export async function fleetView(db: Db, table: string, mode: string, host: string, staleSeconds: number): Promise<FleetView> {
  const [[p]] = await db.query<RowDataPacket[]>(
    `SELECT rate_now, GREATEST(0, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), paused_until)) DIV 1000 AS paused_ms FROM fleet_pace WHERE state_table = ?`,
    [table],
  );
  const [[w]] = await db.query<RowDataPacket[]>(
    `SELECT SUM(wants) AS live, SUM(wants AND host = ?) AS on_host FROM workers FORCE INDEX (ix_workers_live)
     WHERE state_table = ? AND mode = ? AND heartbeat_at >= UTC_TIMESTAMP(6) - INTERVAL ? SECOND`,
    [host, table, mode, staleSeconds],
  );
  const pausedForMs = Number(p?.paused_ms ?? 0);
  return { ratePerSecond: pausedForMs > 0 ? 0 : Number(p?.rate_now ?? 0), pausedForMs, liveWorkers: Math.max(1, Number(w.live ?? 0)), liveOnHost: Math.max(1, Number(w.on_host ?? 0)) };
}

export interface PublishHold {
  kind: string;
  reason: string;
  detail: string;
  since: Date;
  updatedAt: Date;
}

/** (none | held) -> held for `reason`: a new reason restarts `since`, the same one only refreshes. */
export async function setPublishHold(db: Db, table: string, kind: string, reason: string, detail: string): Promise<void> {
  await db.query(
    `INSERT INTO publish_holds (state_table, kind, reason, detail, since, updated_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))
     ON DUPLICATE KEY UPDATE since = IF(reason = VALUES(reason), since, VALUES(since)), reason = VALUES(reason), detail = VALUES(detail), updated_at = VALUES(updated_at)`,
    [table, kind, reason, detail.slice(0, 1024)],
  );
}

/** held -> none. Returns the rows removed. */
export async function clearPublishHold(db: Db, table: string, kind: string): Promise<number> {
  const [r] = await db.query<ResultSetHeader>('DELETE FROM publish_holds WHERE state_table = ? AND kind = ?', [table, kind]);
  return r.affectedRows;
}

export async function publishHolds(db: Db, table: string): Promise<PublishHold[]> {
  const [rows] = await db.query<RowDataPacket[]>('SELECT kind, reason, detail, since, updated_at FROM publish_holds WHERE state_table = ? ORDER BY kind', [table]);
  return rows.map((r) => ({ kind: r.kind, reason: r.reason, detail: r.detail, since: r.since, updatedAt: r.updated_at }));
}

/**
 * What was published for copying and what the workers have done with it, from the totals the state
 * table's triggers keep (sql/015; until then one pass over every row, every 30 s per publisher): the spend
 * so far is priced from the first, the backlog is their difference.
 */
export async function publishedAndDone(db: Db, table: string): Promise<{ objects: number; bytes: number; done: number }> {
  const { phases } = await readTotals(db, table);
  return phases.reduce((a, p) => ({ objects: a.objects + p.publishedObjects, bytes: a.bytes + p.publishedBytes, done: a.done + p.doneObjects }), { objects: 0, bytes: 0, done: 0 });
}

/** The fleet's object rate now (fleet_pace), or null without a ramp. */
export async function fleetRate(db: Db, table: string): Promise<number | null> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT rate_now FROM fleet_pace WHERE state_table = ?', [table]);
  return r ? Number(r.rate_now) : null;
}
