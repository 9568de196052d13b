// `ott status`: one screen that answers "where is my migration": subfolders, bytes and objects by phase,
// live and stale claims, recent errors. The reads are src/state/status.ts's, every one from an index or the
// totals the state table's triggers keep (sql/015), so it takes as long on 10 M subfolders as on 10 k.
import type { Ctx } from '../common/context.js';
import { printable } from '../common/printable.js';
import type { Db } from '../common/db.js';
import type { WorkMode } from '../state/leases.js';
import { fleetPace, renderPace, type FleetPace } from './statusPace.js';
import { renderThroughput, throughput, type Throughput } from './statusHistory.js';
import { ledgerByReason, openCounts } from '../state/ledger.js';
import { claimInfo, emptyTotals, goneFromS3, phaseTotals, PHASES, recentErrors, VERIFIED_PHASE, type ClaimInfo, type GoneFromS3, type PhaseTotals, type RecentError, type Totals } from '../state/status.js';
import { exclusionTotals, type ExclusionTotals } from '../state/exclusions.js';
import { recountTotals } from '../state/totals.js';
import { EXCLUSION_ADVICE, type ExclusionKind } from '../common/source/unmigratable.js';

export interface Status {
  table: string;
  phases: PhaseTotals;
  /**
   * bytes/objectsPercentDone: the share of S3 (as known) in subfolders a check found equal; GCS totals and
   * cdnTransfer's counters never count towards it (see verifiedDone). The excluded objects below count as
   * not done: they are in scope, and not in GCS.
   */
  total: Totals & { bytesPercentDone: number; objectsPercentDone: number };
  /** In scope but not migratable as they are (sql/007): archived in S3, or GCS cannot hold them. */
  excluded: Record<ExclusionKind, ExclusionTotals>;
  claims: Record<WorkMode, ClaimInfo>;
  /** Objects deleted from S3 after their copy, as `publishObjectsList --delta` found them. */
  goneFromS3: GoneFromS3;
  recentErrors: RecentError[];
  /** The fleet's pace and why a publisher holds back (sql/011), when there is one. */
  pace: FleetPace;
  /** Rates over the last hour and the ETA, from the workers' per-minute history (sql/012). */
  throughput: Throughput;
  /** The failed-object ledger's open entries per reason class (`ott status --failed` lists them). */
  failedObjects: Record<string, number>;
  queryMs: number;
}

export async function queryStatus(db: Db, table: string, opts: { sample?: number } = {}): Promise<Status> {
  const sample = opts.sample ?? 5;
  const started = performance.now();
  const [phases, syncCheck, rsync, gone, errors, pace, archived, unmigratable, failedObjects] = await Promise.all([
    phaseTotals(db, table),
    claimInfo(db, table, 'syncCheck', sample),
    claimInfo(db, table, 'rsync', sample),
    goneFromS3(db, table, sample),
    recentErrors(db, table, sample * 2),
    fleetPace(db, table),
    exclusionTotals(db, table, 'archived', sample),
    exclusionTotals(db, table, 'unmigratable', sample),
    ledgerByReason(db, table, 'open').then(openCounts),
  ]);
  const total = emptyTotals();
  for (const p of Object.values(phases)) for (const k of Object.keys(total) as (keyof Totals)[]) total[k] += p[k];
  // Excluded objects are in scope and not in GCS: never done. Floored, so one of a billion keeps it under 100%.
  const notDone = { bytes: archived.bytes + unmigratable.bytes, objects: archived.objects + unmigratable.objects };
  // What copies still have to move: the S3 bytes known and not in GCS (set-aside objects count on neither side).
  const rates = await throughput(db, table, Math.max(0, total.s3Bytes - total.gcsBytes));
  return {
    table,
    phases,
    total: { ...total, ...verifiedDone(phases, total, notDone) },
    excluded: { archived, unmigratable },
    claims: { syncCheck, rsync },
    goneFromS3: gone,
    recentErrors: errors,
    pace,
    throughput: rates,
    failedObjects,
    queryMs: Math.round(performance.now() - started),
  };
}

/**
 * "Done" is what checks verified: the S3 side of the subfolders a syncCheck found equal (sizes, counts, and
 * with --deep every object), over the S3 side of all. Not GCS totals or copy counters: a subfolder can hold
 * as many bytes as S3 says and still miss objects (extra ones in their place), and counters count
 * deliveries, which can run ahead of the objects (issue 14: status said 100% with an object never copied).
 */
export function verifiedDone(phases: PhaseTotals, total: Totals, notDone = { bytes: 0, objects: 0 }): { bytesPercentDone: number; objectsPercentDone: number } {
  const verified = phases[VERIFIED_PHASE];
  // Nothing known in S3 yet (subfolders only dumped): done only if every subfolder was checked equal.
  const pct = (a: number, b: number): number => (b === 0 ? (verified.subfolders === total.subfolders ? 100 : 0) : Math.floor((Math.min(a, b) / b) * 1000) / 10);
  // `notDone`: archived and unmigratable objects, in scope but never in GCS, so in the denominator only.
  return { bytesPercentDone: pct(verified.s3Bytes, total.s3Bytes + notDone.bytes), objectsPercentDone: pct(verified.s3Objects, total.s3Objects + notDone.objects) };
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
  out.push(`done: ${s.total.bytesPercentDone}% of bytes, ${s.total.objectsPercentDone}% of objects verified in GCS (subfolders checked equal)${doneCaveat(s)}`);
  out.push(...renderExclusions(s));
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
  const failed = Object.entries(s.failedObjects);
  if (failed.length) {
    const n = failed.reduce((a, [, v]) => a + v, 0);
    out.push('', `failed objects not resolved since: ${int(n)} (${failed.map(([c, v]) => `${c} ${int(v)}`).join(', ')}); \`ott status --failed\` lists them, \`ott retry --failed\` retries them`);
  }
  out.push(...renderPace(s.pace));
  out.push(...renderThroughput(s.throughput, humanBytes));
  return out.join('\n') + '\n';
}

function doneCaveat(s: Status): string {
  const { archived: a, unmigratable: u } = s.excluded;
  if (!a.objects && !u.objects) return '';
  return ` (not done: ${int(a.objects)} archived and ${int(u.objects)} unmigratable object(s), counted as not in GCS; see below)`;
}

/** Archived and unmigratable objects: their own lines, with where they are and what to do. */
function renderExclusions(s: Status): string[] {
  const out: string[] = [];
  for (const kind of ['archived', 'unmigratable'] as const) {
    const e = s.excluded[kind];
    if (!e.objects) continue;
    out.push(`${kind}: ${int(e.objects)} object(s), ${humanBytes(e.bytes)} in ${int(e.subfolders)} subfolder(s), not in GCS: ${EXCLUSION_ADVICE[kind]}`);
    // Keys escaped (JSON): a key holding a newline or ESC cannot forge a line.
    for (const d of e.sample) for (const k of d.keys.slice(0, 3)) out.push(`  ${printable(d.dirKey)}: ${JSON.stringify(k.key)} (${k.why})`);
  }
  return out;
}

export interface StatusArgs {
  json?: boolean;
  /** Sum every row again into the kept totals first (sql/015), e.g. after rows were changed with the triggers dropped. */
  recount?: boolean;
  write?: (text: string) => void;
}

/** The command: prints the screen (or JSON) and returns the status as its summary. */
export async function run(ctx: Ctx, args: StatusArgs = {}): Promise<Status> {
  const write = args.write ?? ((text: string) => process.stdout.write(text));
  if (args.recount) {
    const ms = await recountTotals(ctx.db, ctx.config.mysql_table);
    // On stderr: --json's stdout stays one JSON document.
    process.stderr.write(`ott status --recount: every subfolder summed again in ${Math.round(ms ?? 0)} ms\n`);
  }
  const s = await queryStatus(ctx.db, ctx.config.mysql_table);
  write(args.json ? JSON.stringify(s, null, 2) + '\n' : renderStatus(s));
  return s;
}
