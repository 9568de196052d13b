// Benchmark: "built for billions" (issue 19), two questions on the local MariaDB and Pub/Sub emulator.
// 1. Do claims slow down as the state table grows? The same number of due subfolders (`--claims`, 20,000)
//    claimed and published from a table of 100,000 rows and one of 10,000,000 (scale/claims.ts: the rest
//    of each table published and checked equal), for publishDirList (syncCheck --recheck) and
//    publishObjectsList (as configured by default, and with its publish gate off). Target: at 10 M no slower than 1.5x the 100 k time, i.e. a rate ratio
//    (10 M / 100 k) >= 0.67x. Each line names the rows InnoDB read per claim at both sizes and the plan of
//    every SELECT that read a whole table or index.
// 2. Does publishObjectsList stay in bounded memory on ONE subfolder of 5,000,000 objects? The real CLI,
//    built to JavaScript as on the VMs (scale/oneDir.ts), listing from a synthetic ListObjectsV2 server (scale/listServer.ts), at 500,000 and
//    5,000,000 objects: peak RSS (VmHWM) and keys/s at each; RSS that grows with the object count is flagged.
// Tables are dumpBase.ts's cached bases (built once per size, shape and schema; kept): the 10 M table's
// first build takes minutes. Lines go to RESULTS.md only at the full sizes (the defaults).
// Usage: npx tsx bench/scale.bench.ts [claims] [objects] [--rows SMALL,LARGE] [--claims N] [--objects A,B]
//        [--mysql HOST:PORT] [--user U] [--password P] [--prepare: only build the tables]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { startStack } from '../test/stack/index.js';
import { CHECKED, CLAIM_KINDS, claimsAt, scans, type ClaimKind, type ClaimRun } from './scale/claims.js';
import { publishOneDir, type OneDirRun } from './scale/oneDir.js';
import { openBase } from './dumpBase.js';
import { perSecond, rateRatio, writeResults } from './results.js';
import { buildOtt } from './transfer/worker.js';

const FULL = { rows: [100_000, 10_000_000], claims: 20_000, objects: [500_000, 5_000_000] };
const RATIO_TARGET = 0.67; // 10 M no slower than 1.5x 100 k
const RSS_TARGET_MIB = 256;
/** RSS at the larger listing more than this over the smaller's: it grows with the object count. */
const RSS_GROWTH = 1.25;

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
function sizes(name: string, dflt: number[]): number[] {
  const v = flag(name);
  if (v === undefined) return dflt;
  const n = v.split(',').map(Number);
  if (n.length !== 2 || !n.every((x) => Number.isInteger(x) && x > 0) || n[0] >= n[1]) throw new Error(`--${name}: got ${JSON.stringify(v)}, expected two sizes, smaller first (e.g. 100000,10000000)`);
  return n;
}
const ROWS = sizes('rows', FULL.rows);
const OBJECTS = sizes('objects', FULL.objects);
const CLAIMS = Number(flag('claims') ?? FULL.claims);
if (!Number.isInteger(CLAIMS) || CLAIMS < 1 || CLAIMS > ROWS[0]) throw new Error(`--claims: got ${flag('claims')}, expected a whole number from 1 to the smaller table's ${ROWS[0]} rows`);
const named = ['claims', 'objects'].filter((p) => process.argv.slice(2).includes(p));
const PARTS = named.length ? named : ['claims', 'objects'];
const [host, port] = (flag('mysql') ?? '127.0.0.1:3306').split(':');
const server = { host, port: Number(port), user: flag('user') ?? 'root', password: flag('password') ?? '' };
const log = (m: string): void => void process.stderr.write(`[scale.bench] ${m}\n`);
const CMD = '`npx tsx bench/scale.bench.ts`';
const fmt = (n: number): string => n.toLocaleString('en');

if (process.argv.includes('--prepare')) {
  for (const n of ROWS) await (await openBase(server, n, log, CHECKED)).db.end();
  process.exit(0);
}

function claimLine(kind: ClaimKind, small: ClaimRun, large: ClaimRun): string {
  const ratio = small.ms / large.ms;
  const what = {
    dirlist: 'publishDirList --purpose syncCheck --recheck',
    objects: 'publishObjectsList (one object per subfolder, in-memory lister; default config: publish gate on)',
    objectsNoGate: 'publishObjectsList, publish gate off (gcs_ramp_enabled false: the claims alone)',
  }[kind];
  const perClaim = (r: ClaimRun): string => fmt(Math.round(r.rowsRead / r.claims));
  const cpu = (r: ClaimRun): string => (r.dbCpuMs === undefined ? '?' : `${Math.round((r.dbCpuMs / r.claims) * 1000)} µs`);
  const scanning = [...new Set([...small.plans, ...large.plans].filter(scans).map((p) => p.sql.slice(0, 90)))];
  // The claim's candidate read (the first one, from a walk's start or a random point): its index and the
  // rows the optimizer expects, a LIMIT aside (an estimate near the table's size is a read that grows with it).
  const candidate = (r: ClaimRun): string => {
    const p = r.plans.find((x) => x.sql.startsWith('SELECT id, dir_key'))?.rows[0];
    return p ? `${p.type} on ${p.key}, est. ${fmt(p.rows)} rows` : '?';
  };
  return (
    `- claims at ${fmt(large.tableRows)} vs ${fmt(small.tableRows)} subfolders, ${what}: ${rateRatio(large.ms, small.ms)} of the ${fmt(small.tableRows)}-row rate ` +
    `(${fmt(large.claims)} due subfolders spread evenly, the rest checked equal; ${fmt(large.tableRows)}: ${perSecond(large.claims, large.ms)}, ${fmt(small.tableRows)}: ${perSecond(small.claims, small.ms)}; ` +
    `rows read per claim (Rows_read) ${perClaim(large)} vs ${perClaim(small)}; MariaDB CPU per claim ${cpu(large)} vs ${cpu(small)}; ` +
    `candidate read ${candidate(large)} vs ${candidate(small)}; ` +
    `target >= ${RATIO_TARGET}x (no slower than 1.5x): ${ratio >= RATIO_TARGET ? 'met' : 'TARGET MISSED'}` +
    `${scanning.length ? `; whole-table reads: ${scanning.map((s) => `\`${s}...\``).join(', ')}` : ''}) -- ${CMD}`
  );
}

function oneDirLine(small: OneDirRun, large: OneDirRun): string {
  const grows = large.peakRssMiB > small.peakRssMiB * RSS_GROWTH || large.secondHalfMiB > large.firstHalfMiB * RSS_GROWTH;
  const met = large.peakRssMiB < RSS_TARGET_MIB && !grows;
  return (
    `- publishObjectsList, ONE subfolder of ${fmt(large.objects)} objects (synthetic ListObjectsV2, 1000 keys a page; the real CLI, built): ` +
    `peak RSS ${large.peakRssMiB} MiB, ${perSecond(large.objects, large.ms)} (${fmt(small.objects)} objects: ${small.peakRssMiB} MiB, ${perSecond(small.objects, small.ms)}; ` +
    `highest RSS in the first / second half of the ${fmt(large.objects)}: ${large.firstHalfMiB} / ${large.secondHalfMiB} MiB; ` +
    `${grows ? 'RSS GROWS WITH THE OBJECT COUNT' : 'RSS does not grow with the object count'}; target < ${RSS_TARGET_MIB} MiB, bounded: ${met ? 'met' : 'TARGET MISSED'}) -- ${CMD}`
  );
}

const stack = await startStack({ only: ['pubsub'] });
Object.assign(process.env, stack.env); // the clients find the emulator as they do on a VM
const ps = new PubSub({ projectId: stack.env.PUBSUB_PROJECT_ID });
try {
  const lines: string[] = [];
  if (PARTS.includes('claims')) {
    // A short warm-up on the small table (JIT, gRPC channels), then each size once.
    await claimsAt(server, ROWS[0], Math.max(1, Math.floor(CLAIMS / 10)), ps, stack.env.PUBSUB_PROJECT_ID, log);
    const small = await claimsAt(server, ROWS[0], CLAIMS, ps, stack.env.PUBSUB_PROJECT_ID, log);
    const large = await claimsAt(server, ROWS[1], CLAIMS, ps, stack.env.PUBSUB_PROJECT_ID, log);
    for (const r of [small, large]) for (const k of CLAIM_KINDS) {
      process.stderr.write(`\n${k} at ${fmt(r[k].tableRows)} rows: ${(r[k].ms / 1000).toFixed(1)} s, ${fmt(r[k].rowsRead)} rows read; plans:\n`);
      for (const p of r[k].plans) process.stderr.write(`  ${scans(p) ? 'WHOLE ' : ''}${p.sql.slice(0, 200)}\n${p.rows.map((x) => `    ${x.table} type=${x.type} key=${x.key} rows=${x.rows} ${x.extra}`).join('\n')}\n`);
    }
    lines.push(...CLAIM_KINDS.map((k) => claimLine(k, small[k], large[k])));
  }
  if (PARTS.includes('objects')) {
    const dir = mkdtempSync(join(tmpdir(), 'ott-bench-scale-build-'));
    try {
      log('building the CLI (tsc) to run it as JavaScript');
      const entry = await buildOtt(dir);
      const small = await publishOneDir(server, ps, stack.env, entry, OBJECTS[0], log);
      const large = await publishOneDir(server, ps, stack.env, entry, OBJECTS[1], log);
      lines.push(oneDirLine(small, large));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const full = ROWS.join() === FULL.rows.join() && CLAIMS === FULL.claims && OBJECTS.join() === FULL.objects.join();
  writeResults('scale', lines, { print: !full || PARTS.length < 2 });
  await ps.close();
} finally {
  await stack.stop();
}
