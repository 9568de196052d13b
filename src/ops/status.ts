// `ott status`: one screen that answers "where is my migration". Every figure comes from an index: the
// phase totals from one GROUP BY over the covering ix_status_phase (sql/004), the claims from the
// ix_*_claim indexes, the recent errors from ix_phase_updated. No query reads the rows themselves except
// the few sampled claims and errors, so it stays fast on millions of subfolders.
import type { RowDataPacket } from 'mysql2';
import type { Ctx } from '../common/context.js';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { CLAIM_COLUMNS, type ClaimMode } from '../worker/claims.js';

/** Phase numbers as stored by the generated column `phase` (sql/004_status_phase.sql). */
export const PHASES = ['new', 'published', 'transferred', 'checked equal', 'mismatched', 'rsynced', 'failed'] as const;
export const FAILED_PHASE = 6;

export interface Totals {
  subfolders: number;
  s3Bytes: number;
  gcsBytes: number;
  s3Objects: number;
  gcsObjects: number;
}

export interface ClaimInfo {
  live: number;
  stale: number;
  /** A few held rows, stale ones first. */
  sample: { dirKey: string; owner: string | null; leaseUntil: Date | null; stale: boolean }[];
}

export interface Status {
  table: string;
  phases: Record<(typeof PHASES)[number], Totals>;
  total: Totals & { bytesPercentDone: number; objectsPercentDone: number };
  claims: Record<ClaimMode, ClaimInfo>;
  recentErrors: { dirKey: string; at: Date; mode: string; error: string }[];
  queryMs: number;
}

/** SUM() of BIGINT comes back as a DECIMAL string; exact while < 2^53, which covers 8 PiB. */
const n = (v: unknown): number => Number(v ?? 0);

function emptyTotals(): Totals {
  return { subfolders: 0, s3Bytes: 0, gcsBytes: 0, s3Objects: 0, gcsObjects: 0 };
}

/**
 * Per phase, a subfolder counts by what is best known about it: once measured (syncCheck or rsync wrote
 * counts), its measured S3 and GCS sides; before that, the publisher's listing (S3) and what cdnTransfer
 * copied or found already there (GCS; skipped objects carry no byte count).
 */
async function phaseTotals(db: Db, t: string): Promise<Status['phases']> {
  const measured = '(s3_objects + gcs_objects > 0)';
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT phase, COUNT(*) AS subfolders,
       SUM(IF(${measured}, s3_size, published_bytes)) AS s3_bytes,
       SUM(IF(${measured}, gcs_size, copied_bytes)) AS gcs_bytes,
       SUM(IF(${measured}, s3_objects, published_objects)) AS s3_objects,
       SUM(IF(${measured}, gcs_objects, copied_objects + skipped_objects)) AS gcs_objects
     FROM ${t} FORCE INDEX (ix_status_phase) GROUP BY phase`,
  );
  const phases = Object.fromEntries(PHASES.map((p) => [p, emptyTotals()])) as Status['phases'];
  for (const r of rows) {
    const name = PHASES[n(r.phase)];
    if (!name) continue;
    phases[name] = { subfolders: n(r.subfolders), s3Bytes: n(r.s3_bytes), gcsBytes: n(r.gcs_bytes), s3Objects: n(r.s3_objects), gcsObjects: n(r.gcs_objects) };
  }
  return phases;
}

async function claimInfo(db: Db, t: string, mode: ClaimMode, sampleSize: number): Promise<ClaimInfo> {
  const c = CLAIM_COLUMNS[mode];
  const stale = `(${c.lease} IS NULL OR ${c.lease} < UTC_TIMESTAMP())`;
  const [[counts]] = await db.query<RowDataPacket[]>(`SELECT SUM(${stale}) AS stale, SUM(NOT ${stale}) AS live FROM ${t} WHERE ${c.flag} = TRUE`);
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, ${c.owner} AS owner, ${c.lease} AS lease_until, ${stale} AS stale FROM ${t} WHERE ${c.flag} = TRUE ORDER BY ${c.lease} LIMIT ?`,
    [sampleSize],
  );
  return {
    live: n(counts.live),
    stale: n(counts.stale),
    sample: rows.map((r) => ({ dirKey: r.dir_key as string, owner: (r.owner as string | null) ?? null, leaseUntil: (r.lease_until as Date | null) ?? null, stale: n(r.stale) === 1 })),
  };
}

async function recentErrors(db: Db, t: string, limit: number): Promise<Status['recentErrors']> {
  const [rows] = await db.query<RowDataPacket[]>(
    `SELECT dir_key, updated_at, sync_check_error, rsync_error, cdn_publish_error, sync_check_publish_error, rsync_publish_error FROM ${t} FORCE INDEX (ix_phase_updated)
     WHERE phase = ? ORDER BY updated_at DESC LIMIT ?`,
    [FAILED_PHASE, limit],
  );
  return rows.map((r) => {
    const sources: [string, unknown][] = [
      ['rsync', r.rsync_error],
      ['syncCheck', r.sync_check_error],
      ['publishObjectsList', r.cdn_publish_error],
      ['publishDirList syncCheck', r.sync_check_publish_error],
      ['publishDirList rsync', r.rsync_publish_error],
    ];
    const [mode, error] = sources.find(([, e]) => e !== null && e !== undefined) ?? ['?', ''];
    return { dirKey: r.dir_key as string, at: r.updated_at as Date, mode, error: String(error ?? '') };
  });
}

export async function queryStatus(db: Db, table: string, opts: { sample?: number } = {}): Promise<Status> {
  const t = tableName(table);
  const sample = opts.sample ?? 5;
  const started = performance.now();
  const [phases, syncCheck, rsync, errors] = await Promise.all([phaseTotals(db, t), claimInfo(db, t, 'syncCheck', sample), claimInfo(db, t, 'rsync', sample), recentErrors(db, t, sample * 2)]);
  const total = emptyTotals();
  for (const p of Object.values(phases)) for (const k of Object.keys(total) as (keyof Totals)[]) total[k] += p[k];
  const pct = (a: number, b: number): number => (b === 0 ? (a === 0 ? 100 : 0) : Math.floor((Math.min(a, b) / b) * 1000) / 10);
  return {
    table,
    phases,
    total: { ...total, bytesPercentDone: pct(total.gcsBytes, total.s3Bytes), objectsPercentDone: pct(total.gcsObjects, total.s3Objects) },
    claims: { syncCheck, rsync },
    recentErrors: errors,
    queryMs: Math.round(performance.now() - started),
  };
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
  out.push(`done: ${s.total.bytesPercentDone}% of bytes, ${s.total.objectsPercentDone}% of objects in GCS`);
  out.push('');
  out.push(row(['claims', 'live', 'stale']));
  for (const m of ['syncCheck', 'rsync'] as const) out.push(row([m, int(s.claims[m].live), int(s.claims[m].stale)]));
  for (const m of ['syncCheck', 'rsync'] as const) {
    for (const c of s.claims[m].sample) out.push(`  ${m} ${c.stale ? 'STALE' : 'live '} ${c.dirKey}  owner ${c.owner ?? '-'}  lease until ${iso(c.leaseUntil)}`);
  }
  if (s.claims.syncCheck.stale + s.claims.rsync.stale > 0) out.push('  stale claims are taken over by the next worker; `ott reset <mode> --stale-only` clears them now');
  out.push('');
  out.push(s.recentErrors.length ? 'recent errors (newest first):' : 'recent errors: none');
  for (const e of s.recentErrors) out.push(`  ${iso(e.at)} ${e.mode} ${e.dirKey}: ${e.error.replace(/\s+/g, ' ').slice(0, 160)}`);
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
