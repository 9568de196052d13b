// The worker's pace: how fast this process may start object writes. Three limits, the lowest wins:
//  - the fleet's share: one object-write rate per state table (src/state/pace.ts) that starts where GCS
//    asks a new bucket to start and doubles on its schedule, divided among the live workers;
//  - max_objects_per_second per worker (VM), divided among its live processes;
//  - a pause after GCS throttles (429/503): this process stops at once, and the whole fleet within a
//    heartbeat, since the pause and the halved rate live in MySQL.
// Heartbeats register the worker (what the fleet view counts, and what an operator sees per worker).
// A MySQL outage keeps the last known pace: it delays work, never drops it.
import { hostname } from 'node:os';
import type { Ctx } from '../common/context.js';
import { sleep } from '../common/retry.js';
import { deregister, fleetView, heartbeat, startPace, stepRamp, throttleFleet, type RampSettings } from '../state/pace.js';

export interface PaceSettings {
  /** null: no fleet ramp (a bucket already warm). */
  ramp: RampSettings | null;
  maxObjectsPerSecondPerWorker?: number;
  heartbeatMs: number;
}

export interface Pacer {
  /**
   * Waits until this process may start one more object. Undefined when nothing limits it: go now (once per
   * object on the small-object path, where a promise and a tick per object add up).
   */
  take(signal: AbortSignal): Promise<void> | undefined;
  /** One object done (counted in the heartbeat). */
  done(bytes: number): void;
  /** GCS answered 429 or 503. */
  throttled(): void;
  /** Objects per second this process may start now (Infinity: unlimited; 0: paused). */
  readonly perSecond: number;
  stop(): Promise<void>;
}

export function paceSettings(ctx: Ctx): PaceSettings {
  const c = ctx.config;
  return {
    ramp: c.gcs_ramp_enabled
      ? { startPerSecond: c.gcs_ramp_start_writes_per_second, doublingSeconds: c.gcs_ramp_doubling_seconds, maxPerSecond: c.gcs_ramp_max_writes_per_second, backoffSeconds: c.gcs_throttle_backoff_seconds }
      : null,
    maxObjectsPerSecondPerWorker: c.max_objects_per_second,
    heartbeatMs: c.heartbeat_seconds * 1000,
  };
}

/** `onBeat`: also done on every heartbeat (the throughput history's write rides on it); must not throw. */
export async function startPacer(ctx: Ctx, mode: string, s: PaceSettings, onBeat?: () => Promise<void>): Promise<Pacer> {
  const { db, log } = ctx;
  const table = ctx.config.mysql_table;
  const host = hostname();
  const staleSeconds = Math.max(2, (3 * s.heartbeatMs) / 1000);
  let perSecond = Infinity;
  let pausedUntil = 0;
  let tokens = 1;
  let refilledAt = performance.now();
  const done = { objects: 0, bytes: 0, throttled: 0 };
  // take() calls since the last heartbeat: this worker has work and wants a share. A worker starts out
  // wanting one, so a fleet starting together splits the rate from its first heartbeat.
  let takes = 1;

  const refresh = async (): Promise<void> => {
    const wants = takes > 0;
    takes = 0;
    await heartbeat(db, table, { workerId: ctx.workerId, mode, host, ...done, share: Number.isFinite(perSecond) ? perSecond : 0, wants });
    if (s.ramp) await stepRamp(db, table, s.ramp);
    const view = await fleetView(db, table, mode, host, staleSeconds);
    if (view.pausedForMs > 0) pausedUntil = Math.max(pausedUntil, Date.now() + view.pausedForMs);
    const fleetShare = s.ramp ? view.ratePerSecond / view.liveWorkers : Infinity;
    const hostShare = s.maxObjectsPerSecondPerWorker ? s.maxObjectsPerSecondPerWorker / view.liveOnHost : Infinity;
    const next = view.pausedForMs > 0 ? perSecond : Math.min(fleetShare, hostShare);
    if (next !== perSecond) log.info(`${mode}: pace`, { objects_per_s: Number.isFinite(next) ? Math.round(next * 100) / 100 : 'unlimited', fleet_rate: s.ramp ? view.ratePerSecond : 'off', live_workers: view.liveWorkers, on_host: view.liveOnHost });
    perSecond = next;
    await onBeat?.();
  };

  if (s.ramp) await startPace(db, table, s.ramp);
  await refresh();
  let beating = false;
  const timer = setInterval(() => {
    if (beating) return; // one heartbeat in flight: a slow or down MySQL never stacks them
    beating = true;
    refresh()
      .catch((err: unknown) => log.warn(`${mode}: heartbeat failed, keeping the last pace`, { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (beating = false));
  }, s.heartbeatMs);

  const refill = (): void => {
    const now = performance.now();
    // At most one second of tokens banked, so a pause or an idle spell is not followed by a burst.
    tokens = Math.min(Math.max(1, perSecond), tokens + ((now - refilledAt) / 1000) * perSecond);
    refilledAt = now;
  };

  /** take() when something limits this process: the pause, then a token of the object rate. */
  const waitTurn = async (signal: AbortSignal): Promise<void> => {
    for (;;) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      const pause = pausedUntil - Date.now();
      if (pause > 0) {
        await sleep(pause, signal);
        continue;
      }
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await sleep(perSecond > 0 ? Math.max(1, ((1 - tokens) / perSecond) * 1000) : s.heartbeatMs, signal);
    }
  };

  return {
    get perSecond() {
      return Date.now() < pausedUntil ? 0 : perSecond;
    },
    take(signal) {
      takes++;
      if (perSecond === Infinity && Date.now() >= pausedUntil) return undefined;
      return waitTurn(signal);
    },
    done(bytes) {
      done.objects++;
      done.bytes += bytes;
    },
    throttled() {
      done.throttled++;
      if (!s.ramp || Date.now() < pausedUntil) return;
      pausedUntil = Date.now() + s.ramp.backoffSeconds * 1000;
      tokens = 0;
      log.warn(`${mode}: GCS is throttling (429/503): pausing the fleet's writes`, { backoff_s: s.ramp.backoffSeconds });
      throttleFleet(db, table, s.ramp).catch((err: unknown) => log.warn(`${mode}: could not record the throttle in MySQL; this process pauses alone`, { error: err instanceof Error ? err.message : String(err) }));
    },
    async stop() {
      clearInterval(timer);
      await onBeat?.();
      await deregister(db, table, ctx.workerId).catch(() => undefined); // a stale row ages out by itself
    },
  };
}

/** GCS's "slow down": what pauses the fleet, and a write that met it is sent again only when the pacer lets it. */
export const isThrottleStatus = (status: number | undefined): boolean => status === 429 || status === 503;
