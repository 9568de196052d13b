// `ott status`'s lines on throughput from the workers' per-minute history (sql/012, src/state/history.ts):
// the last hour's objects/s and MiB/s per mode, per worker in --json, and an ETA for the S3 bytes known
// and not yet in GCS. From MySQL, so they survive worker restarts, unlike a process's own progress lines.
import type { Db } from '../common/db.js';
import { historySums, type HistorySums } from '../state/history.js';

export const RATE_WINDOW_SECONDS = 3600;

export interface Rate {
  mode: string;
  workerId?: string;
  host?: string;
  /** Copied objects per second over `seconds`; skipped ones apart. */
  objectsPerSecond: number;
  skippedPerSecond: number;
  mibPerSecond: number;
  copiedObjects: number;
  copiedBytes: number;
  skippedObjects: number;
  failedObjects: number;
  archivedObjects: number;
  seconds: number;
}

export interface Throughput {
  windowSeconds: number;
  byMode: Rate[];
  byWorker: Rate[];
  /** S3 bytes known (listed or measured) and not yet in GCS, and the time they take at cdnTransfer's rate; null: no rate. */
  remainingBytes: number;
  etaSeconds: number | null;
}

const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * A mode's (or worker's) rates over the window. The span is measured from the first sample in the window,
 * at least a minute: a fleet that started ten minutes ago is not averaged over an hour.
 */
function rate(h: HistorySums, windowSeconds: number): Rate {
  const a = h.activity;
  const seconds = Math.min(windowSeconds, Math.max(60, h.sinceFirstSeconds));
  return {
    mode: h.mode,
    ...(h.workerId ? { workerId: h.workerId, host: h.host } : {}),
    objectsPerSecond: round(a.copiedObjects / seconds),
    skippedPerSecond: round(a.skippedObjects / seconds),
    mibPerSecond: round(a.copiedBytes / 1048576 / seconds),
    copiedObjects: a.copiedObjects,
    copiedBytes: a.copiedBytes,
    skippedObjects: a.skippedObjects,
    failedObjects: a.failedObjects,
    archivedObjects: a.archivedObjects,
    seconds,
  };
}

export async function throughput(db: Db, table: string, remainingBytes: number): Promise<Throughput> {
  const windowSeconds = RATE_WINDOW_SECONDS;
  const [modes, workers] = await Promise.all([historySums(db, table, { windowSeconds }), historySums(db, table, { windowSeconds, perWorker: true })]);
  const byMode = modes.map((m) => rate(m, windowSeconds));
  const cdn = byMode.find((m) => m.mode === 'cdnTransfer');
  const bytesPerSecond = cdn ? cdn.copiedBytes / cdn.seconds : 0;
  return {
    windowSeconds,
    byMode,
    byWorker: workers.map((w) => rate(w, windowSeconds)),
    remainingBytes,
    etaSeconds: bytesPerSecond > 0 ? Math.round(remainingBytes / bytesPerSecond) : remainingBytes === 0 ? 0 : null,
  };
}

export function humanSeconds(s: number): string {
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${round(s / 3600, 1)} h`;
  return `${round(s / 86400, 1)} days`;
}

export function renderThroughput(t: Throughput, humanBytes: (b: number) => string): string[] {
  const out: string[] = ['', `throughput (last ${t.windowSeconds / 60} min, from the workers' history):`];
  if (!t.byMode.length) out.push('  no worker activity recorded in that time');
  for (const r of t.byMode) {
    out.push(
      `  ${r.mode}: ${r.objectsPerSecond} objects/s, ${r.mibPerSecond} MiB/s copied, ${r.skippedPerSecond} objects/s skipped; ` +
        `${r.copiedObjects.toLocaleString('en-US')} copied, ${r.skippedObjects.toLocaleString('en-US')} skipped, ${r.failedObjects.toLocaleString('en-US')} failed ` +
        `(${r.archivedObjects.toLocaleString('en-US')} archived) over ${humanSeconds(r.seconds)} by ${t.byWorker.filter((w) => w.mode === r.mode).length} worker(s)`,
    );
  }
  const eta = t.etaSeconds === null ? 'unknown (no copy in that time)' : humanSeconds(t.etaSeconds);
  out.push(`  remaining: ${humanBytes(t.remainingBytes)} of the S3 bytes known not yet in GCS; ETA at that rate: ${eta}`);
  return out;
}
