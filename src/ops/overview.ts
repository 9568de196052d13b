// Everything `ott dashboard` shows and `ott report --format html` records, read in one go: the very
// `Status` of `ott status` (so the page's numbers are status's), the throughput history as chart series
// (minutes of the last hours, hours of the last days), and the failed-object ledger's newest reasons and
// worst subfolders. Every read is a named, indexed statement of src/state, bounded by workers x buckets or
// by a row cap, never by objects or subfolders. The result is plain JSON (Dates serialise as ISO strings).
import type { Db } from '../common/db.js';
import { queryStatus, type Status } from './status.js';
import { historySeries, type HistoryBucket } from '../state/history.js';
import { newestOpenEntries, topFailingDirs, type OpenEntry } from '../state/ledger.js';

/** One chart's data: every bucket from the first sample to now, zero-filled, per mode aligned with `t`. */
export interface Series {
  spanSeconds: number;
  /** Bucket starts, Unix seconds (UTC). */
  t: number[];
  modes: Record<string, ModeSeries>;
}

export interface ModeSeries {
  /** Copied objects per second over the bucket (the current bucket: over its elapsed seconds). */
  objectsPerSecond: number[];
  mibPerSecond: number[];
  copiedObjects: number[];
  copiedBytes: number[];
  skippedObjects: number[];
  failedObjects: number[];
}

export interface Overview {
  /** The database's clock when read: what "now" means on the page (VM clocks may differ). */
  generatedAt: Date;
  table: string;
  /** Exactly `ott status --json`'s object. */
  status: Status;
  history: { minutes: Series; hours: Series };
  failures: {
    /** The newest open ledger entries, a few per reason class, newest first. */
    newest: Omit<OpenEntry, 'entry'>[];
    /** Subfolders with the most open entries; `exact` false: counted over a capped sample of the ledger. */
    topDirs: { dirKey: string; open: number }[];
    topDirsExact: boolean;
  };
  queryMs: number;
}

export interface OverviewOptions {
  /** Minute buckets of the last this many seconds (default 6 h). */
  minutesWindowSeconds?: number;
  /** Hour buckets of the last this many seconds (default 30 days). */
  hoursWindowSeconds?: number;
  /** Newest ledger entries per reason class. */
  newestPerClass?: number;
  topDirs?: number;
  /** The most open ledger entries counted for topDirs: one refresh stays bounded on a huge ledger. */
  topDirsScanRows?: number;
}

export const OVERVIEW_DEFAULTS = { minutesWindowSeconds: 6 * 3600, hoursWindowSeconds: 30 * 86400, newestPerClass: 3, topDirs: 10, topDirsScanRows: 100_000 } as const;

export async function readOverview(db: Db, table: string, opts: OverviewOptions = {}): Promise<Overview> {
  const o = { ...OVERVIEW_DEFAULTS, ...opts };
  const started = performance.now();
  const [status, minutes, hours, top] = await Promise.all([
    queryStatus(db, table),
    historySeries(db, table, 60, o.minutesWindowSeconds),
    historySeries(db, table, 3600, o.hoursWindowSeconds),
    topFailingDirs(db, table, o.topDirs, o.topDirsScanRows),
  ]);
  // The classes come from status's counts: only those with open entries cost a read.
  const newest = await newestOpenEntries(db, table, Object.keys(status.failedObjects), o.newestPerClass);
  return {
    generatedAt: minutes.now,
    table,
    status,
    history: { minutes: toSeries(60, minutes.buckets, minutes.now), hours: toSeries(3600, hours.buckets, minutes.now) },
    failures: { newest, topDirs: top.dirs, topDirsExact: top.exact },
    queryMs: Math.round(performance.now() - started),
  };
}

const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Buckets -> columns for a time-series chart. Missing buckets are zeros (no worker recorded anything: the
 * rate was 0, and a line must not bridge an outage). The bucket holding `now` has run only part of its span:
 * its rates are over the seconds elapsed, or the newest point would always dip.
 */
export function toSeries(spanSeconds: number, buckets: HistoryBucket[], now: Date): Series {
  const series: Series = { spanSeconds, t: [], modes: {} };
  if (!buckets.length) return series;
  const sec = (d: Date): number => Math.floor(d.getTime() / 1000);
  const first = sec(buckets[0].at);
  const nowSec = sec(now);
  const last = Math.max(first, Math.floor(nowSec / spanSeconds) * spanSeconds);
  for (let t = first; t <= last; t += spanSeconds) series.t.push(t);
  const index = new Map(series.t.map((t, i) => [t, i]));
  for (const b of buckets) {
    const i = index.get(sec(b.at));
    if (i === undefined) continue;
    const m = (series.modes[b.mode] ??= emptyMode(series.t.length));
    const seconds = Math.max(1, Math.min(spanSeconds, nowSec - sec(b.at)));
    m.copiedObjects[i] += b.copiedObjects;
    m.copiedBytes[i] += b.copiedBytes;
    m.skippedObjects[i] += b.skippedObjects;
    m.failedObjects[i] += b.failedObjects;
    m.objectsPerSecond[i] = round(m.copiedObjects[i] / seconds);
    m.mibPerSecond[i] = round(m.copiedBytes[i] / 1048576 / seconds);
  }
  return series;
}

function emptyMode(n: number): ModeSeries {
  const z = (): number[] => new Array<number>(n).fill(0);
  return { objectsPerSecond: z(), mibPerSecond: z(), copiedObjects: z(), copiedBytes: z(), skippedObjects: z(), failedObjects: z() };
}
