// How long a migration takes: the larger of two bounds, objects (the fleet's object rate, held down at
// first by the GCS bucket's write ramp) and bytes (the fleet's bandwidth, capped by the CloudFront
// distribution's). Pure arithmetic; the inputs say where each number comes from.

export interface Ramp {
  /** GCS's documented start: ~1,000 object writes/s per bucket... */
  startWritesPerSecond: number;
  /** ...doubling at most every 20 minutes. */
  doublingMinutes: number;
}

export interface Pace {
  vms: number;
  vmObjectsPerSecond: number;
  vmBytesPerSecond: number;
  /** null: no ramp (a bucket already warmed up to the fleet's rate). */
  ramp: Ramp | null;
  /** CloudFront's default limit per distribution: 150 Gbps. */
  cdnBytesPerSecond: number;
}

export const GCS_RAMP: Ramp = Object.freeze({ startWritesPerSecond: 1000, doublingMinutes: 20 });
export const CLOUDFRONT_DEFAULT_BYTES_PER_SECOND = 150e9 / 8;

export type Bound = 'objects' | 'bytes' | 'gcs ramp' | 'cdn cap';

export interface Duration {
  seconds: number;
  boundBy: Bound;
  objectsSeconds: number;
  bytesSeconds: number;
}

/** Seconds to write `objects` at `fleetRate`/s when the bucket allows start x 2^k writes/s in the k-th period. */
export function rampedSeconds(objects: number, fleetRate: number, ramp: Ramp | null): number {
  if (objects <= 0) return 0;
  if (!ramp) return objects / fleetRate;
  const period = ramp.doublingMinutes * 60;
  let left = objects;
  let t = 0;
  for (let cap = ramp.startWritesPerSecond; cap < fleetRate; cap *= 2) {
    if (left <= cap * period) return t + left / cap;
    left -= cap * period;
    t += period;
  }
  return t + left / fleetRate;
}

export function migrationDuration(w: { objects: number; bytes: number }, p: Pace): Duration {
  const fleetObjects = p.vms * p.vmObjectsPerSecond;
  const fleetBytes = p.vms * p.vmBytesPerSecond;
  const objectsSeconds = rampedSeconds(w.objects, fleetObjects, p.ramp);
  const bytesSeconds = w.bytes / Math.min(fleetBytes, p.cdnBytesPerSecond);
  const byObjects = objectsSeconds >= bytesSeconds;
  const ramped = byObjects && p.ramp !== null && objectsSeconds > rampedSeconds(w.objects, fleetObjects, null) * 1.01;
  const capped = !byObjects && fleetBytes > p.cdnBytesPerSecond;
  return {
    seconds: Math.max(objectsSeconds, bytesSeconds),
    boundBy: byObjects ? (ramped ? 'gcs ramp' : 'objects') : capped ? 'cdn cap' : 'bytes',
    objectsSeconds,
    bytesSeconds,
  };
}

export const MAX_FLEET = 100_000;

/**
 * The smallest fleet that finishes within `seconds`, or null with the floor no fleet gets under (the
 * ramp's, or the CDN cap's): more VMs do not beat either.
 */
export function vmsForDeadline(w: { objects: number; bytes: number }, p: Omit<Pace, 'vms'>, seconds: number): { vms: number } | { vms: null; floorSeconds: number } {
  const at = (vms: number): number => migrationDuration(w, { ...p, vms }).seconds;
  if (at(MAX_FLEET) > seconds) return { vms: null, floorSeconds: at(MAX_FLEET) };
  let lo = 1;
  let hi = MAX_FLEET;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (at(mid) <= seconds) hi = mid;
    else lo = mid + 1;
  }
  return { vms: lo };
}
