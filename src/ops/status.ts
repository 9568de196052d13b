// `ott status`: one screen that answers "where is my migration": subfolders, bytes and objects by phase,
// live and stale claims, recent errors. The reads are src/state/status.ts's, every one from an index, so
// it stays fast on millions of subfolders.
import type { Ctx } from '../common/context.js';
import { printable } from '../common/printable.js';
import type { Db } from '../common/db.js';
import type { WorkMode } from '../state/leases.js';
import { fleetPace, renderPace, type FleetPace } from './statusPace.js';
import { claimInfo, emptyTotals, goneFromS3, phaseTotals, PHASES, recentErrors, VERIFIED_PHASE, type ClaimInfo, type GoneFromS3, type PhaseTotals, type RecentError, type Totals } from '../state/status.js';

export interface Status {
  table: string;
  phases: PhaseTotals;
  /**
   * bytes/objectsPercentDone: the share of S3 (as known) in subfolders a check found equal; GCS totals and
   * cdnTransfer's counters never count towards it (see verifiedDone).
   */
  total: Totals & { bytesPercentDone: number; objectsPercentDone: number };
  claims: Record<WorkMode, ClaimInfo>;
  /** Objects deleted from S3 after their copy, as `publishObjectsList --delta` found them. */
  goneFromS3: GoneFromS3;
  recentErrors: RecentError[];
  /** The fleet's pace and why a publisher holds back (sql/011), when there is one. */
  pace: FleetPace;
  queryMs: number;
}

export async function queryStatus(db: Db, table: string, opts: { sample?: number } = {}): Promise<Status> {
  const sample = opts.sample ?? 5;
  const started = performance.now();
  const [phases, syncCheck, rsync, gone, errors, pace] = await Promise.all([
    phaseTotals(db, table),
    claimInfo(db, table, 'syncCheck', sample),
    claimInfo(db, table, 'rsync', sample),
    goneFromS3(db, table, sample),
    recentErrors(db, table, sample * 2),
    fleetPace(db, table),
  ]);
  const total = emptyTotals();
  for (const p of Object.values(phases)) for (const k of Object.keys(total) as (keyof Totals)[]) total[k] += p[k];
  return {
    table,
    phases,
    total: { ...total, ...verifiedDone(phases, total) },
    claims: { syncCheck, rsync },
    goneFromS3: gone,
    recentErrors: errors,
    pace,
    queryMs: Math.round(performance.now() - started),
  };
}

/**
 * "Done" is what checks verified: the S3 side of the subfolders a syncCheck found equal (sizes, counts, and
 * with --deep every object), over the S3 side of all. Not GCS totals or copy counters: a subfolder can hold
 * as many bytes as S3 says and still miss objects (extra ones in their place), and counters count
 * deliveries, which can run ahead of the objects (issue 14: status said 100% with an object never copied).
 */
export function verifiedDone(phases: PhaseTotals, total: Totals): { bytesPercentDone: number; objectsPercentDone: number } {
  const verified = phases[VERIFIED_PHASE];
  // Nothing known in S3 yet (subfolders only dumped): done only if every subfolder was checked equal.
  const pct = (a: number, b: number): number => (b === 0 ? (verified.subfolders === total.subfolders ? 100 : 0) : Math.floor((Math.min(a, b) / b) * 1000) / 10);
  return { bytesPercentDone: pct(verified.s3Bytes, total.s3Bytes), objectsPercentDone: pct(verified.s3Objects, total.s3Objects) };
}

export function humanBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = b;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${b} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

const int = (v: number): string => v.toLocaleString('en-US');
const iso = (d: Date | null): string => (d ? d.toISOString().replace('.000Z', 'Z') : '-');

export function renderStatus(s: Status, now = new Date()): string {
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(15) : c.padStart(i === 1 ? 12 : 14))).join('');
  const out: string[] = [];
  out.push(`ott status: table ${s.table} at ${iso(now)} (${s.queryMs} ms)`);
  out.push('');
  out.push(row(['phase', 'subfolders', 'S3 bytes', 'GCS bytes', 'S3 objects', 'GCS objects']));
  const line = (name: string, t: Totals): string => row([name, int(t.subfolders), humanBytes(t.s3Bytes), humanBytes(t.gcsBytes), int(t.s3Objects), int(t.gcsObjects)]);
  for (const p of PHASES) out.push(line(p, s.phases[p]));
  out.push(line('total', s.total));
  out.push('');
  out.push(`done: ${s.total.bytesPercentDone}% of bytes, ${s.total.objectsPercentDone}% of objects verified in GCS (subfolders checked equal)`);
  const g = s.goneFromS3;
  if (g.objects > 0) {
    const kept = g.objects - g.removed;
    out.push(
      `deleted from S3 after their copy: ${int(g.objects)} object(s) in ${int(g.subfolders)} subfolder(s), ${int(g.removed)} removed from GCS` +
        (kept > 0 ? `, ${int(kept)} still in GCS (\`ott publishObjectsList --delta --delete-unmatched\` removes them)` : ''),
    );
    for (const x of g.sample) out.push(`  ${x.dirKey}: ${x.names.slice(0, 3).join(', ')}${x.names.length > 3 ? ', ...' : ''}`);
  }
  out.push('');
  out.push(row(['claims', 'live', 'stale']));
  for (const m of ['syncCheck', 'rsync'] as const) out.push(row([m, int(s.claims[m].live), int(s.claims[m].stale)]));
  for (const m of ['syncCheck', 'rsync'] as const) {
    for (const c of s.claims[m].sample) out.push(`  ${m} ${c.stale ? 'STALE' : 'live '} ${printable(c.dirKey)}  owner ${printable(c.owner ?? '-')}  lease until ${iso(c.leaseUntil)}`);
  }
  if (s.claims.syncCheck.stale + s.claims.rsync.stale > 0) out.push('  stale claims are taken over by the next worker; `ott reset <mode> --stale-only` clears them now');
  out.push('');
  out.push(s.recentErrors.length ? 'recent errors (newest first):' : 'recent errors: none');
  // Keys and errors (which quote keys) escaped: a key holding a newline or ESC cannot forge a line.
  for (const e of s.recentErrors) out.push(`  ${iso(e.at)} ${e.mode} ${printable(e.dirKey)}: ${printable(e.error.replace(/[ \t\r\n]+/g, ' ')).slice(0, 160)}`);
  out.push(...renderPace(s.pace));
  return out.join('\n') + '\n';
}

export interface StatusArgs {
  json?: boolean;
  write?: (text: string) => void;
}

/** The command: prints the screen (or JSON) and returns the status as its summary. */
export async function run(ctx: Ctx, args: StatusArgs = {}): Promise<Status> {
  const s = await queryStatus(ctx.db, ctx.config.mysql_table);
  const write = args.write ?? ((text: string) => process.stdout.write(text));
  write(args.json ? JSON.stringify(s, null, 2) + '\n' : renderStatus(s));
  return s;
}
