// Whether publishObjectsList may claim more subfolders now. Two reasons to hold back, each recorded in
// publish_holds (status shows it) and logged:
//  - spend cap: what was published so far, priced by `ott estimate`'s model for this tool's route
//    (CloudFront bytes and requests, S3 GETs and LISTs, GCS operations, Pub/Sub; list prices or
//    prices_file), reached spend_cap_usd. A run stops; --follow keeps checking, so a raised cap resumes.
//  - backlog: objects published but not yet done would take the fleet, at the rate the GCS ramp allows
//    it now, longer than half the subscription's retention: published further, they would age out of
//    Pub/Sub unread. The publisher waits for the fleet to catch up.
import type { Ctx } from '../common/context.js';
import { costRoutes } from '../estimate/cost.js';
import { loadPrices, type Prices } from '../estimate/prices.js';
import { clearPublishHold, fleetRate, publishedAndDone, setPublishHold } from '../state/pace.js';

export type GateVerdict = 'go' | 'wait' | 'stop';

/** Estimated spend of publishing `objects` / `bytes` through this tool's route, per-object and per-byte lines only. */
export function spendOf(prices: Prices, objects: number, bytes: number, keysPerMessage: number): number {
  const [ours] = costRoutes(
    { objects, bytes, subfolders: 0, avgKeyBytes: 100, workloadFrom: 'measured', months: 1, wallHours: 0, vms: 0, network: 'external-ip', cdnRegion: 'us', stsRegion: 'us', gcsStorageClass: 'STANDARD', keysPerMessage },
    prices,
  );
  return ours.usd;
}

export interface GateOptions {
  follow: boolean;
  checkEveryMs?: number;
  /** What this publisher sent for subfolders whose rows are not flagged yet (not in the table's sums). */
  unflagged?: () => { objects: number; bytes: number };
}

export function publishGate(ctx: Ctx, kind: 'cdn', opts: GateOptions): (() => Promise<GateVerdict>) | undefined {
  const { config, db, log } = ctx;
  const table = config.mysql_table;
  const cap = config.spend_cap_usd;
  const prices = cap !== undefined ? loadPrices(config.prices_file) : undefined;
  const checkEveryMs = opts.checkEveryMs ?? 30_000;
  let checkedAt = -Infinity;
  let verdict: GateVerdict = 'go';
  // Unknown at start: a hold left by an earlier run is cleared by the first check that finds none.
  let held: string | null | undefined;

  const hold = async (reason: string, detail: string, v: GateVerdict): Promise<GateVerdict> => {
    if (held !== reason) log.warn(`publishObjectsList: holding back: ${detail}`, { reason });
    held = reason;
    await setPublishHold(db, table, kind, reason, detail);
    return v;
  };

  const check = async (): Promise<GateVerdict> => {
    const inTable = await publishedAndDone(db, table);
    const extra = opts.unflagged?.() ?? { objects: 0, bytes: 0 };
    const p = { objects: inTable.objects + extra.objects, bytes: inTable.bytes + extra.bytes, done: inTable.done };
    if (cap !== undefined && prices) {
      const spent = spendOf(prices, p.objects, p.bytes, config.num_single_message);
      if (spent >= cap) {
        const detail = `spend cap reached: ~$${spent.toFixed(2)} estimated for ${p.objects.toLocaleString('en-US')} objects published, spend_cap_usd is $${cap}`;
        return hold('spend cap', detail, opts.follow ? 'wait' : 'stop');
      }
    }
    const rate = await fleetRate(db, table);
    const backlog = p.objects - p.done;
    if (rate && backlog > 0 && backlog / rate > config.pubsub_retention_seconds / 2) {
      const detail = `backlog: ${backlog.toLocaleString('en-US')} objects published and not yet copied would take the fleet ${Math.round(backlog / rate / 3600)} h at its current ${rate}/s, over half the subscription's retention (${Math.round(config.pubsub_retention_seconds / 3600)} h)`;
      return hold('backlog', detail, 'wait');
    }
    if (held !== null) {
      if (held) log.info('publishObjectsList: publishing again', { was: held });
      held = null;
      await clearPublishHold(db, table, kind);
    }
    return 'go';
  };

  if (cap === undefined && !config.gcs_ramp_enabled) return undefined;
  // One check in flight at a time: two interleaved checks could clear a hold the other had just set.
  let inFlight: Promise<GateVerdict> | undefined;
  return async () => {
    // One pass over the table per check: at most every checkEveryMs, the verdict kept in between.
    if (performance.now() - checkedAt < checkEveryMs) return verdict;
    inFlight ??= check()
      .then((v) => {
        verdict = v;
        checkedAt = performance.now();
        return v;
      })
      .finally(() => (inFlight = undefined));
    return inFlight;
  };
}
