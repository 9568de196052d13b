// The fleet's pace (sql/011_fleet_pace.sql): worker registration and heartbeats, and one shared
// object-write rate per state table that ramps on GCS's schedule and backs off when GCS throttles.
// Every statement is one transition with its contract; the clock is the database's (UTC_TIMESTAMP(6)).
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';

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
