// `ott status`'s lines on the fleet's pace: live workers per mode, the shared object-write rate and any
// fleet-wide pause after GCS throttled, and why a publisher holds back (spend cap, backlog).
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';
import { publishHolds, type PublishHold } from '../state/pace.js';

export interface FleetPace {
  workers: { mode: string; live: number; objectsPerSecondShare: number }[];
  rate: { perSecond: number; pausedUntil: Date | null; throttles: number } | null;
  holds: PublishHold[];
}

/** Live means a heartbeat within the last 30 s (workers beat every few seconds). */
export async function fleetPace(db: Db, table: string): Promise<FleetPace> {
  const [workers] = await db.query<RowDataPacket[]>(
    `SELECT mode, COUNT(*) AS live, SUM(rate_share) AS share FROM workers WHERE state_table = ? AND heartbeat_at >= UTC_TIMESTAMP(6) - INTERVAL 30 SECOND GROUP BY mode ORDER BY mode`,
    [table],
  );
  const [[p]] = await db.query<RowDataPacket[]>(
    'SELECT rate_now, IF(paused_until > UTC_TIMESTAMP(6), paused_until, NULL) AS paused_until, throttles FROM fleet_pace WHERE state_table = ?',
    [table],
  );
  return {
    workers: workers.map((w) => ({ mode: w.mode, live: Number(w.live), objectsPerSecondShare: Number(w.share ?? 0) })),
    rate: p ? { perSecond: Number(p.rate_now), pausedUntil: p.paused_until ?? null, throttles: Number(p.throttles) } : null,
    holds: await publishHolds(db, table),
  };
}

export function renderPace(p: FleetPace): string[] {
  const out: string[] = [''];
  const workers = p.workers.map((w) => `${w.live} ${w.mode}`).join(', ');
  out.push(`workers: ${workers || 'none live'}`);
  if (p.rate) {
    const paused = p.rate.pausedUntil ? `; PAUSED until ${p.rate.pausedUntil.toISOString()} after GCS throttled` : '';
    out.push(`fleet write rate: ${p.rate.perSecond.toLocaleString('en-US')} objects/s (GCS ramp), throttled ${p.rate.throttles} time(s)${paused}`);
  }
  for (const h of p.holds) out.push(`publishing held (${h.kind}) since ${h.since.toISOString()}: ${h.detail}`);
  return out;
}
