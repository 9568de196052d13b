// Benchmark: "built for billions" (issue 19), two questions on the local MariaDB and Pub/Sub emulator.
// 1. Do claims slow down as the state table grows? The same number of due subfolders (`--claims`, 20,000)
//    claimed and published from a table of 100,000 rows and one of 10,000,000 (scale/claims.ts: the rest
//    of each table published and checked equal), for publishDirList (syncCheck --recheck) and
//    publishObjectsList (as configured by default, and with its publish gate off). Target: at 10 M no slower than 1.5x the 100 k time, i.e. a rate ratio
//    (10 M / 100 k) >= 0.67x. One run says little on this shared 2-core machine (the same code swung
//    0.6x-1.6x from run to run), so each kind runs `--samples` times (5) at each size, interleaved
//    (scale/claims.ts claimSamples: the sizes back to back per kind, alternating which goes first, after
//    one uncounted warm-up round), and the verdict is on the ratio of the MEDIAN rates; the line gives the
//    range of the per-sample (paired) ratios and the sample count beside it. Every clock starts with the
//    InnoDB purge done and both tables' pages written back, and the run's own debt (the write-back of the
//    pages it dirtied: more of them at 10 M, where claims do not share pages) is timed after its clock and
//    purge and shown beside as a second ratio. Each line names the rows InnoDB read per claim at
//    both sizes, the buffer pool's page reads and flushes per claim, and the plan of every SELECT that read
//    a whole table or index.
//    Cost: one round (3 kinds x 2 sizes x 20,000 claims, each run with its setup, purge waits, write-backs,
//    reset and check) takes about 40 s on a quiet machine (a minute or more under load), so the default
//    (1 warm-up round + 5 samples) about 4 min quiet, 6-7 min loaded; keep it under ~12 min (a quiet window
//    here is < 15 min): each more sample costs a round, --claims 10000 halves one.
// 2. Does publishObjectsList stay in bounded memory on ONE subfolder of 5,000,000 objects? The real CLI,
//    built to JavaScript as on the VMs (scale/oneDir.ts), listing from a synthetic ListObjectsV2 server (scale/listServer.ts), at 500,000 and
//    5,000,000 objects: peak RSS (VmHWM) and keys/s at each; RSS that grows with the object count is flagged.
// Tables are dumpBase.ts's cached bases (built once per size, shape and schema; kept): the 10 M table's
// first build takes minutes. A part's lines go to RESULTS.md (tagged per part: running one part keeps the
// other's lines) only at its full sizes (the defaults).
// Usage: npx tsx bench/scale.bench.ts [claims] [objects] [--rows SMALL,LARGE] [--claims N] [--samples N]
//        [--objects A,B] [--mysql HOST:PORT] [--user U] [--password P] [--prepare: only build the tables]
//        [--no-settle: start each claims clock right after its setup, without waiting for InnoDB's purge or
//        writing back the dirty pages (how this benchmark ran before; prints only)]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { startStack } from '../test/stack/index.js';
import { CHECKED, CLAIM_KINDS, claimSamples, scans, type ClaimKind, type ClaimRun, type Sampled } from './scale/claims.js';
import { publishOneDir, type OneDirRun } from './scale/oneDir.js';
import { openBase } from './dumpBase.js';
import { perSecond, writeResults } from './results.js';
import { buildOtt } from './transfer/worker.js';

const FULL = { rows: [100_000, 10_000_000], claims: 20_000, samples: 5, objects: [500_000, 5_000_000] };
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
const SAMPLES = Number(flag('samples') ?? FULL.samples);
if (!Number.isInteger(SAMPLES) || SAMPLES < 1) throw new Error(`--samples: got ${JSON.stringify(flag('samples'))}, expected a whole number from 1 up`);
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

const rate = (r: ClaimRun): number => (r.claims / r.ms) * 1000;
function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}
const rateText = (perS: number): string => perSecond(perS, 1000);

function claimLine(kind: ClaimKind, s: Sampled): string {
  const [small, large] = [s.small, s.large];
  const ratio = median(large.map(rate)) / median(small.map(rate));
  const pairs = large.map((l, i) => rate(l) / rate(small[i]));
  // The claims' clock is the verdict's (what a publisher sees); the write-back they leave is shown beside.
  const rateWithDebt = (r: ClaimRun): number => (r.claims / (r.ms + r.writeBackMs)) * 1000;
  const withDebt = median(large.map(rateWithDebt)) / median(small.map(rateWithDebt));
  const what = {
    dirlist: 'publishDirList --purpose syncCheck --recheck',
    objects: 'publishObjectsList (one object per subfolder, in-memory lister; default config: publish gate on)',
    objectsNoGate: 'publishObjectsList, publish gate off (gcs_ramp_enabled false: the claims alone)',
  }[kind];
  // Per claim, the median over the samples of one size.
  const perClaim = (runs: ClaimRun[], v: (r: ClaimRun) => number | undefined): number | undefined => {
    const xs = runs.map((r) => (v(r) ?? Number.NaN) / r.claims).filter((x) => Number.isFinite(x));
    return xs.length ? median(xs) : undefined;
  };
  const both = (v: (r: ClaimRun) => number | undefined, f: (n: number) => string): string =>
    [large, small].map((runs) => { const x = perClaim(runs, v); return x === undefined ? '?' : f(x); }).join(' vs ');
  const one = (n: number): string => (n < 10 ? n.toFixed(1) : fmt(Math.round(n)));
  const scanning = [...new Set([...small, ...large].flatMap((r) => r.plans).filter(scans).map((p) => p.sql.slice(0, 90)))];
  // The claim's candidate read (the first one, from a walk's start or a random point): its index and the
  // rows the optimizer expects, a LIMIT aside (an estimate near the table's size is a read that grows with it).
  const candidate = (r: ClaimRun): string => {
    const p = r.plans.find((x) => x.sql.startsWith('SELECT id, dir_key'))?.rows[0];
    return p ? `${p.type} on ${p.key}, est. ${fmt(p.rows)} rows` : '?';
  };
  const [L, S] = [large[0], small[0]];
  return (
    `- claims at ${fmt(L.tableRows)} vs ${fmt(S.tableRows)} subfolders, ${what}: ${ratio.toFixed(2)}x of the ${fmt(S.tableRows)}-row rate, ratio of the median rates ` +
    `(${large.length} samples at each size, interleaved; per-sample ratios ${Math.min(...pairs).toFixed(2)}-${Math.max(...pairs).toFixed(2)}x; ` +
    `${fmt(L.claims)} due subfolders spread evenly, the rest checked equal; ${fmt(L.tableRows)}: ${rateText(median(large.map(rate)))}, ${fmt(S.tableRows)}: ${rateText(median(small.map(rate)))}; ` +
    `per claim, medians, ${fmt(L.tableRows)} vs ${fmt(S.tableRows)}: rows read (Rows_read) ${both((r) => r.counters.Rows_read, one)}, ` +
    `buffer pool page reads ${both((r) => r.counters.Innodb_buffer_pool_read_requests, one)} (from disk ${both((r) => r.counters.Innodb_buffer_pool_reads, one)}), ` +
    `pages flushed ${both((r) => r.counters.Innodb_buffer_pool_pages_flushed, one)}, MariaDB CPU ${both((r) => r.dbCpuMs, (n) => `${Math.round(n * 1000)} µs`)}; ` +
    `after each clock and its purge, the write-back of the pages the run dirtied (median) ${[large, small].map((runs) => `${fmt(Math.round(median(runs.map((r) => r.writeBackMs))))} ms`).join(' vs ')}, ` +
    `the rate with them ${withDebt.toFixed(2)}x (${rateText(median(large.map(rateWithDebt)))} vs ${rateText(median(small.map(rateWithDebt)))}); ` +
    `candidate read ${candidate(L)} vs ${candidate(S)}; ` +
    `target >= ${RATIO_TARGET}x (no slower than 1.5x) on the medians: ${ratio >= RATIO_TARGET ? 'met' : 'TARGET MISSED'}` +
    `${scanning.length ? `; whole-table reads: ${scanning.map((x) => `\`${x}...\``).join(', ')}` : ''}) -- ${CMD}`
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
  if (PARTS.includes('claims')) {
    const settle = !process.argv.includes('--no-settle');
    const sampled = await claimSamples({ server, rows: [ROWS[0], ROWS[1]], claims: CLAIMS, samples: SAMPLES, ps, gcpProject: stack.env.PUBSUB_PROJECT_ID, log, settle });
    for (const k of CLAIM_KINDS) {
      for (const runs of [sampled[k].small, sampled[k].large]) {
        process.stderr.write(`\n${k} at ${fmt(runs[0].tableRows)} rows: ${runs.map((r) => `${(r.ms / 1000).toFixed(1)} s`).join(', ')}; plans:\n`);
        const seen = new Set<string>();
        for (const p of runs.flatMap((r) => r.plans)) {
          if (seen.has(p.sql)) continue;
          seen.add(p.sql);
          process.stderr.write(`  ${scans(p) ? 'WHOLE ' : ''}${p.sql.slice(0, 200)}\n${p.rows.map((x) => `    ${x.table} type=${x.type} key=${x.key} rows=${x.rows} ${x.extra}`).join('\n')}\n`);
        }
      }
    }
    const lines = CLAIM_KINDS.map((k) => claimLine(k, sampled[k]));
    const full = ROWS.join() === FULL.rows.join() && CLAIMS === FULL.claims && SAMPLES === FULL.samples && settle;
    writeResults('scale-claims', lines, { print: !full });
  }
  if (PARTS.includes('objects')) {
    const dir = mkdtempSync(join(tmpdir(), 'ott-bench-scale-build-'));
    try {
      log('building the CLI (tsc) to run it as JavaScript');
      const entry = await buildOtt(dir);
      const small = await publishOneDir(server, ps, stack.env, entry, OBJECTS[0], log);
      const large = await publishOneDir(server, ps, stack.env, entry, OBJECTS[1], log);
      writeResults('scale-objects', [oneDirLine(small, large)], { print: OBJECTS.join() !== FULL.objects.join() });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await ps.close();
} finally {
  await stack.stop();
}
