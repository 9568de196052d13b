// Part 1 of the scale benchmark: do claims slow down as the state table grows? The same number of
// subfolders (`claims`) is made due in a table of each size, spread evenly over its ids, the rest of the
// table published and checked equal (dumpBase's CHECKED shape: a large migration late in its life, or a
// delta dump's few new rows among millions), and the real publisher (in this process, as the publish and
// dirlist benchmarks run it) claims and publishes exactly those:
//   - dirlist: `publishDirList --purpose syncCheck --recheck --recheck-before` (the due rows are the ones
//     whose last check ended before the instant), publishing to the Pub/Sub emulator;
//   - objects: `publishObjectsList` (the due rows' objects lists not yet published), one object per
//     subfolder from an in-memory lister (the publish benchmark's fixture idea), so claims dominate; as
//     configured by default (its publish gate on: gcs_ramp_enabled), and once more with the gate off
//     (objectsNoGate: the claims alone; the gate's check reads the table's totals every 30 s).
// Beside the time: the rows the server read meanwhile (Rows_read: what a scan costs), MariaDB's CPU,
// and the plan (EXPLAIN) of every distinct SELECT the run made, as it made it: a plan that reads the table
// (type ALL, or rows estimated near the table's size) is a scan that grows with it.
import { readFileSync } from 'node:fs';
import type { PubSub } from '@google-cloud/pubsub';
import type { RowDataPacket } from 'mysql2';
import { createContext } from '../../src/common/context.js';
import { validateConfig } from '../../src/common/config/validate.js';
import type { Db } from '../../src/common/db.js';
import type { ObjectEntry } from '../../src/common/messages.js';
import type { ObjectLister } from '../../src/common/source/s3List.js';
import { run as publishDirList } from '../../src/publisher/publishDirList.js';
import { run as publishObjectsList } from '../../src/publisher/publishObjectsList.js';
import { openBase, resetRows, type Base, type BaseShape, type Server } from '../dumpBase.js';
import { processCpuMs } from '../transfer/cpu.js';

export const CLAIM_KINDS = ['dirlist', 'objects', 'objectsNoGate'] as const;
export type ClaimKind = (typeof CLAIM_KINDS)[number];

/** Every subfolder published, copied, and checked equal on 2026-01-02: nothing is due for any publisher. */
export const CHECKED: BaseShape = {
  name: 'checked',
  columns: {
    initial_transfer: 'FALSE',
    cdn_transfer_published: 'TRUE',
    cdn_published_at: "'2026-01-01'",
    published_objects: '10',
    published_bytes: '10000',
    copied_objects: '10',
    copied_bytes: '10000',
    s3_size: '10000',
    gcs_size: '10000',
    s3_objects: '10',
    gcs_objects: '10',
    sync_check_published: 'TRUE',
    sync_check_frequency: '1',
    sync_check_last_start: "'2026-01-02'",
    sync_check_last_end: "'2026-01-02'",
  },
};

/** Makes rows due for each kind; resetRows() undoes it. */
const DUE: Record<ClaimKind, string> = {
  dirlist: "sync_check_last_start = '2026-01-01', sync_check_last_end = '2026-01-01'",
  objects: 'initial_transfer = TRUE, cdn_transfer_published = FALSE',
  objectsNoGate: 'initial_transfer = TRUE, cdn_transfer_published = FALSE',
};
/** The recheck instant: after the due rows' last check, before every other row's. */
const RECHECK_BEFORE = new Date('2026-01-01T12:00:00Z');
const BATCH = 10; // max_messages_per_batch: the reference's default

export interface Plan {
  sql: string;
  rows: { table: string; type: string; key: string | null; rows: number; extra: string }[];
}

export interface ClaimRun {
  kind: ClaimKind;
  tableRows: number;
  claims: number;
  ms: number;
  /** Rows the server read from tables during the run (Rows_read), all sessions (the benchmark runs alone on the server). */
  rowsRead: number;
  dbCpuMs: number | undefined;
  plans: Plan[];
}

/** `n` ids spread evenly over 1..maxId. */
function spread(maxId: number, n: number): number[] {
  if (n > maxId) throw new Error(`--claims ${n} is more than the table's ${maxId} rows`);
  return Array.from({ length: n }, (_, j) => 1 + Math.floor((j * maxId) / n));
}

async function rowsRead(db: Db): Promise<number> {
  const [[r]] = await db.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Rows_read'");
  return Number(r.Value);
}

/** The server's pid, from its pid file (undefined if unreadable: its CPU is then not reported). */
async function serverPid(db: Db): Promise<number | undefined> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT @@pid_file AS f');
  try {
    return Number(readFileSync(String(r.f), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Records the first parameters of every distinct SELECT the pool runs (to EXPLAIN them afterwards). */
function recordSelects(db: Db): Map<string, unknown[]> {
  const seen = new Map<string, unknown[]>();
  const query = db.query.bind(db) as (sql: unknown, params?: unknown) => Promise<unknown>;
  (db as unknown as { query: typeof query }).query = (sql, params) => {
    if (typeof sql === 'string' && /^\s*SELECT/i.test(sql) && !seen.has(sql)) seen.set(sql, Array.isArray(params) ? params : []);
    return query(sql, params);
  };
  return seen;
}

async function explain(db: Db, selects: Map<string, unknown[]>): Promise<Plan[]> {
  const plans: Plan[] = [];
  for (const [sql, params] of selects) {
    if (!/\bFROM\s+`?state`?/i.test(sql)) continue; // the state table's reads only
    const [rows] = await db.query<RowDataPacket[]>(`EXPLAIN ${sql}`, params);
    plans.push({ sql: sql.replace(/\s+/g, ' ').trim(), rows: rows.map((r) => ({ table: r.table, type: r.type, key: r.key, rows: Number(r.rows), extra: r.Extra ?? '' })) });
  }
  return plans;
}

const oneObject: ObjectLister = async function* (dir) {
  yield { key: `${dir}object.parquet`, size: 1000, etag: '0123456789abcdef0123456789abcdef', last_modified: '2024-01-31T10:00:00.000Z', storage_class: 'STANDARD' } satisfies ObjectEntry;
};

/** One publisher run over `claims` due rows of the base; the base is reset afterwards. */
async function claimRun(base: Base, kind: ClaimKind, claims: number, ps: PubSub, gcpProject: string, log: (m: string) => void): Promise<ClaimRun> {
  const ids = spread(base.maxId, claims);
  for (let i = 0; i < ids.length; i += 10_000) await base.db.query(`UPDATE state SET ${DUE[kind]} WHERE id IN (?)`, [ids.slice(i, i + 10_000)]);
  const [topic] = await ps.createTopic(`bench-scale-${kind}-${base.maxId}-${Date.now()}`);
  const mode = kind === 'dirlist' ? 'publishDirList' : 'publishObjectsList';
  const config = validateConfig(
    { mysql_table: 'state', credentials_file: '/dev/null', pubsub_topic_id: topic.name.split('/').pop(), max_messages_per_batch: BATCH, ...(kind === 'objectsNoGate' ? { gcs_ramp_enabled: false } : {}) },
    'bench',
  );
  const ctx = await createContext({ mode, config, secrets: { mysql_config: base.mysql }, gcpProject, writeLog: () => undefined, signal: new AbortController().signal });
  const selects = recordSelects(ctx.db);
  const pid = await serverPid(base.db);
  const dbCpu = (): number | undefined => (pid === undefined ? undefined : processCpuMs(pid));
  const [read0, cpu0] = [await rowsRead(base.db), dbCpu()];
  const t = Date.now();
  const published =
    kind === 'dirlist'
      ? (await publishDirList(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: RECHECK_BEFORE })).subfolders_published
      : (await publishObjectsList(ctx, { lister: oneObject })).subfolders_published;
  const ms = Date.now() - t;
  const [read1, cpu1] = [await rowsRead(base.db), dbCpu()];
  if (published !== claims) throw new Error(`${mode} published ${published} of the ${claims} due subfolders of ${base.maxId}`);
  const plans = await explain(ctx.db, selects);
  await ctx.db.end();
  await ctx.clients.close();
  await topic.delete();
  await resetRows(base, ids);
  log(`${kind}: ${claims} of ${base.maxId.toLocaleString('en')} rows in ${(ms / 1000).toFixed(1)} s, ${(read1 - read0).toLocaleString('en')} rows read`);
  return { kind, tableRows: base.maxId, claims, ms, rowsRead: read1 - read0, dbCpuMs: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined, plans };
}

/** Every kind on a table of `rows` (built once as dumpBase's CHECKED base, kept). */
export async function claimsAt(server: Server, rows: number, claims: number, ps: PubSub, gcpProject: string, log: (m: string) => void): Promise<Record<ClaimKind, ClaimRun>> {
  const base = await openBase(server, rows, log, CHECKED);
  try {
    const runs: Partial<Record<ClaimKind, ClaimRun>> = {};
    for (const kind of CLAIM_KINDS) runs[kind] = await claimRun(base, kind, claims, ps, gcpProject, log);
    return runs as Record<ClaimKind, ClaimRun>;
  } finally {
    await base.db.end();
  }
}

/**
 * A plan that reads the whole table or a whole index (type ALL / index). A range read with a LIMIT (the
 * claims' candidate reads) may stop early whatever its estimate says: Rows_read tells how far it went.
 * `<derived…>` / `<union…>` are a statement's own temporary results (a UNION's rows), read whole by
 * design: what they hold is judged by the lines of the tables that filled them.
 */
export const scans = (p: Plan): boolean => p.rows.some((r) => !/^<(derived|union)/.test(r.table ?? '') && (r.type === 'ALL' || r.type === 'index'));
