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
// Beside the time: the rows the server read meanwhile (Rows_read: what a scan costs), MariaDB's CPU, the
// server's counters of what the writes cost (COUNTERS: buffer pool page reads and writes, pages flushed,
// rows updated, handler calls), and the plan (EXPLAIN) of every distinct SELECT the run made, as it made it:
// a plan that reads the table (type ALL, or rows estimated near the table's size) is a scan that grows with it.
// Samples (claimSamples): a size's runs are only comparable when each starts from the same state. Every run
// makes the same ids due (spread() is deterministic), and resetRows() puts every column of them back but
// updated_at (which only orders ix_phase_updated) and the key. Before the clock starts (quiesce), InnoDB's
// purge of every earlier change (old index entries of the reset, of the due rows' UPDATE) is waited for and
// the dirty pages of both sizes' tables are written back (FLUSH TABLES ... FOR EXPORT), so no run pays for
// another: a 10 M run dirties ~2 pages per claim that a 100 k run, whose few pages absorb many claims each,
// does not; written back later by the page cleaner, they landed in the next run's clock (the next run is the
// other size: interleaving alternates them), making 100 k look slower. After the clock and the run's own
// purge, the write-back of the pages it dirtied (its debt) is timed on its own (writeBackMs), reported beside.
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

/**
 * Server-wide counters (SHOW GLOBAL STATUS) read before and after each run: what a claim cost the server
 * besides the rows it read. Pages read from the buffer pool (and from disk, when the table's working set is
 * not cached), pages written to it and flushed from it, redo bytes, the handler's row writes and reads
 * (MariaDB 10.11 has no Innodb_rows_*: Handler_update counts the rows updated, triggers' included).
 */
export const COUNTERS = [
  'Rows_read',
  'Innodb_buffer_pool_read_requests',
  'Innodb_buffer_pool_reads',
  'Innodb_buffer_pool_write_requests',
  'Innodb_buffer_pool_pages_flushed',
  'Innodb_os_log_written',
  'Handler_update',
  'Handler_write',
  'Handler_read_key',
  'Handler_read_next',
] as const;
export type Counter = (typeof COUNTERS)[number];

export interface ClaimRun {
  kind: ClaimKind;
  tableRows: number;
  claims: number;
  ms: number;
  /**
   * Every COUNTERS' change during the run, all sessions and InnoDB's background threads (purge, flushing);
   * Rows_read is the rows the server read from tables (the benchmark runs alone on the server).
   */
  counters: Record<Counter, number>;
  /** InnoDB's history list length (undo not yet purged) before settle() and when the clock started. */
  history: { before: number; atStart: number };
  /** How long settle() waited for the purge before the clock started (0 without it). */
  settleMs: number;
  /** After the clock and the run's purge: the write-back of the pages it dirtied (its debt), timed apart. */
  writeBackMs: number;
  dbCpuMs: number | undefined;
  plans: Plan[];
}

/** `n` ids spread evenly over 1..maxId. */
function spread(maxId: number, n: number): number[] {
  if (n > maxId) throw new Error(`--claims ${n} is more than the table's ${maxId} rows`);
  return Array.from({ length: n }, (_, j) => 1 + Math.floor((j * maxId) / n));
}

async function counters(db: Db): Promise<Record<Counter, number>> {
  const [rows] = await db.query<RowDataPacket[]>('SHOW GLOBAL STATUS WHERE Variable_name IN (?)', [COUNTERS]);
  const got = new Map(rows.map((r) => [String(r.Variable_name), Number(r.Value)]));
  return Object.fromEntries(COUNTERS.map((c) => [c, got.get(c) ?? Number.NaN])) as Record<Counter, number>;
}

async function historyLength(db: Db): Promise<number> {
  const [[r]] = await db.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Innodb_history_list_length'");
  return Number(r?.Value ?? Number.NaN);
}

/**
 * Purge caught up: the history list empty (its idle level). It counts transactions, not rows: the setup's
 * 20,000-row UPDATEs are two entries, the newest, so anything above 0 may be them.
 */
const SETTLED_HISTORY = 0;
/** On a server someone else is writing to, the list may never empty: the clock starts anyway after this. */
const SETTLE_MAX_MS = 30_000;

/**
 * Waits (up to SETTLE_MAX_MS) until InnoDB has purged what earlier statements left (old index entries of
 * updated rows): a run starting right after the setup (this run's 20,000-row UPDATE making rows due, the
 * last run's reset) would otherwise share the 2 cores with their purge, which costs more at 10 M (the
 * entries are spread over larger indexes) and more after some kinds than others (a dirlist reset touches
 * more indexes): the order of the runs, not the claims, would show in the ratios. The purge of a run's own
 * claims still overlaps the run, as in production.
 */
async function settle(db: Db, log: (m: string) => void): Promise<{ before: number; atStart: number; ms: number }> {
  const t = Date.now();
  const before = await historyLength(db);
  for (let h = before; ; h = await historyLength(db)) {
    if (!(h > SETTLED_HISTORY) || Date.now() - t > SETTLE_MAX_MS) {
      if (h > SETTLED_HISTORY) log(`purge did not catch up in ${SETTLE_MAX_MS / 1000} s (history list length ${h}); starting anyway`);
      return { before, atStart: h, ms: Date.now() - t };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Writes this base's state table's dirty pages to disk: FLUSH TABLES ... FOR EXPORT (InnoDB quiesces the
 * table: purge paused, its dirty pages flushed), then UNLOCK TABLES. Returns the milliseconds it took.
 */
async function writeBack(base: Base): Promise<number> {
  const conn = await base.db.getConnection();
  try {
    const t = performance.now();
    await conn.query('FLUSH TABLES state FOR EXPORT');
    const ms = performance.now() - t;
    await conn.query('UNLOCK TABLES');
    return ms;
  } finally {
    conn.release();
  }
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

/**
 * A digest of these rows in every column but updated_at (a reset cannot put it back; it only orders
 * ix_phase_updated): equal before a run and after its reset, or the next run would not start where this
 * one did.
 */
async function rowsDigest(base: Base, ids: number[]): Promise<string> {
  const [cols] = await base.db.query<RowDataPacket[]>(
    "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'state' AND column_name <> 'updated_at' ORDER BY ordinal_position",
  );
  const row = `CONCAT_WS('|', ${cols.map((r) => `IFNULL(HEX(\`${String(r.c)}\`), 'N')`).join(', ')})`;
  let x = 0n;
  let n = 0;
  for (let i = 0; i < ids.length; i += 10_000) {
    const [[r]] = await base.db.query<RowDataPacket[]>(`SELECT BIT_XOR(CRC32(${row})) AS x, COUNT(*) AS n FROM state WHERE id IN (?)`, [ids.slice(i, i + 10_000)]);
    x ^= BigInt(r.x ?? 0);
    n += Number(r.n);
  }
  return `${n}:${x.toString(16)}`;
}

/** One publisher run over `claims` due rows of the base; the rows are reset afterwards, checked back as they were. */
async function claimRun(base: Base, kind: ClaimKind, claims: number, ps: PubSub, gcpProject: string, log: (m: string) => void, quiesce: (() => Promise<void>) | undefined): Promise<ClaimRun> {
  const ids = spread(base.maxId, claims);
  const digest = await rowsDigest(base, ids);
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
  const settled = quiesce ? await settle(base.db, log) : { before: await historyLength(base.db), atStart: Number.NaN, ms: 0 };
  if (quiesce) await quiesce();
  else settled.atStart = settled.before;
  const [before, cpu0] = [await counters(base.db), dbCpu()];
  const t = Date.now();
  const published =
    kind === 'dirlist'
      ? (await publishDirList(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: RECHECK_BEFORE })).subfolders_published
      : (await publishObjectsList(ctx, { lister: oneObject })).subfolders_published;
  const ms = Date.now() - t;
  const [after, cpu1] = [await counters(base.db), dbCpu()];
  const delta = Object.fromEntries(COUNTERS.map((c) => [c, after[c] - before[c]])) as Record<Counter, number>;
  // The run's write-back, after its purge (not timed: its wait has a floor of 0.1-0.7 s from the purge
  // coordinator's own schedule, the same at both sizes, which would only add noise).
  if (quiesce) await settle(base.db, log);
  const writeBackMs = quiesce ? await writeBack(base) : Number.NaN;
  if (published !== claims) throw new Error(`${mode} published ${published} of the ${claims} due subfolders of ${base.maxId}`);
  const plans = await explain(ctx.db, selects);
  await ctx.db.end();
  await ctx.clients.close();
  await topic.delete();
  await resetRows(base, ids);
  const afterReset = await rowsDigest(base, ids);
  if (afterReset !== digest) throw new Error(`${kind} at ${base.maxId} rows: the reset left the due rows other than they were (digest ${digest} before, ${afterReset} after)`);
  const dbCpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  const per = (n: number): string => (n / claims).toFixed(1);
  log(
    `${kind}: ${claims} of ${base.maxId.toLocaleString('en')} rows in ${(ms / 1000).toFixed(1)} s (${Math.round((claims / ms) * 1000)}/s; purge history ${settled.before} -> ${settled.atStart} in ${settled.ms} ms before the clock; its write-back after it ${Math.round(writeBackMs)} ms); per claim: ` +
      `${COUNTERS.map((c) => `${c} ${per(delta[c])}`).join(', ')}, MariaDB CPU ${dbCpuMs === undefined ? '?' : `${Math.round((dbCpuMs / claims) * 1000)} µs`}`,
  );
  return { kind, tableRows: base.maxId, claims, ms, counters: delta, history: { before: settled.before, atStart: settled.atStart }, settleMs: settled.ms, writeBackMs, dbCpuMs, plans };
}

/** One kind's runs at both sizes, sample by sample (small[i] and large[i] ran next to each other). */
export interface Sampled {
  small: ClaimRun[];
  large: ClaimRun[];
}

export interface SampleOptions {
  server: Server;
  /** The two table sizes, smaller first. */
  rows: [number, number];
  claims: number;
  samples: number;
  ps: PubSub;
  gcpProject: string;
  log: (m: string) => void;
  /**
   * Before each clock, wait for the purge and write back both tables' dirty pages (default); false only to
   * see what it changes (each clock then starts right after its setup, as this benchmark first ran).
   */
  settle?: boolean;
}

/**
 * `samples` runs of every kind at both sizes, interleaved so that drift on this shared machine (another
 * process, the page cleaner, the CPU's clock) hits both sizes alike: sample i runs each kind at the small
 * size and at the large one back to back, small first in even samples and large first in odd ones (so
 * neither size always follows the other). Before them one warm-up round, every kind at both sizes with
 * the full claims count, not counted: the JIT and the gRPC channels, and the due rows' pages (rows and
 * index entries) in the buffer pool, as they are after any earlier round (a base just built or a server
 * just started would otherwise read the first round's pages from disk at one size only).
 */
export async function claimSamples(o: SampleOptions): Promise<Record<ClaimKind, Sampled>> {
  const bases = [await openBase(o.server, o.rows[0], o.log, CHECKED), await openBase(o.server, o.rows[1], o.log, CHECKED)];
  const out = Object.fromEntries(CLAIM_KINDS.map((k): [ClaimKind, Sampled] => [k, { small: [], large: [] }])) as Record<ClaimKind, Sampled>;
  // Both tables' pages clean, whichever size ran last (its reset and purge dirtied pages of its own table).
  const quiesce = async (): Promise<void> => {
    for (const b of bases) await writeBack(b);
  };
  const run = (b: Base, kind: ClaimKind): Promise<ClaimRun> => claimRun(b, kind, o.claims, o.ps, o.gcpProject, o.log, (o.settle ?? true) ? quiesce : undefined);
  try {
    o.log('warm-up round (not counted)');
    for (const kind of CLAIM_KINDS) for (const b of bases) await run(b, kind);
    for (let i = 0; i < o.samples; i++) {
      o.log(`sample ${i + 1} of ${o.samples}`);
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const kind of CLAIM_KINDS) for (const s of order) out[kind][s === 0 ? 'small' : 'large'].push(await run(bases[s], kind));
    }
    return out;
  } finally {
    for (const b of bases) await b.db.end();
  }
}

/**
 * A plan that reads the whole table or a whole index (type ALL / index). A range read with a LIMIT (the
 * claims' candidate reads) may stop early whatever its estimate says: Rows_read tells how far it went.
 * `<derived…>` / `<union…>` are a statement's own temporary results (a UNION's rows), read whole by
 * design: what they hold is judged by the lines of the tables that filled them.
 */
export const scans = (p: Plan): boolean => p.rows.some((r) => !/^<(derived|union)/.test(r.table ?? '') && (r.type === 'ALL' || r.type === 'index'));
