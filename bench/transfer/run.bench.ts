// Benchmark: the cdnTransfer worker (issue 6) against (b) the bare limit, a raw undici GET -> MD5 -> GCS
// upload loop at the same concurrency on the same servers, and (c) rclone 1.60 at its best --transfers,
// all in the same run on the same fixtures (CDN synthetic origin behind the signature check, GCS emulator
// in --discard mode). Workloads: small (20,000 x 16 KiB), large (8 x 256 MiB), 2 worker processes vs 1
// on the small one, and the worker's peak RSS while copying one 5 GiB object.
// Usage: npx tsx bench/transfer/run.bench.ts
// Each workload writes its own lines into RESULTS.md when it runs at the issue's size; quick runs are
// printed only (unless BENCH_WRITE=1): BENCH_SMALL_COUNT=2000
// BENCH_LARGE_COUNT=2 BENCH_LARGE_MIB=64 BENCH_HUGE_MIB=0 (0 skips) BENCH_RCLONE_TRANSFERS=16,32
// BENCH_ONLY=small,large,procs,huge BENCH_ROUNDS=2 BENCH_RCLONE_SWEEP_COUNT=2000 (the --transfers sweep
// runs on that many small objects, the best then copies all of them) BENCH_BUILD=0 (run bin/ott.mjs
// through tsx instead of compiling src/ into a temp dir first) BENCH_CONCURRENCY (default: the config's).
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../../src/common/config/schema.js';
import type { ObjectEntry } from '../../src/common/messages.js';
import { perSecond, rateRatio, writeResults } from '../results.js';
import { runBareProcess } from './bare.js';
import { fixtureCpu } from './cpu.js';
import { createGcsBucket, setSigning, startWorld, syntheticBase, syntheticObjects, KEY_PAIR_ID, type World } from './fixtures.js';
import { runRclone } from './rclone.js';
import { buildOtt, runWorker } from './worker.js';

const MiB = 1024 * 1024;
const env = process.env;
const num = (name: string, dflt: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`Expected \`${name}\` to be a number from 0 and up, got \`${v}\``);
  return n;
};
const SMALL_COUNT = num('BENCH_SMALL_COUNT', 20_000);
const SMALL_BYTES = num('BENCH_SMALL_KIB', 16) * 1024;
const LARGE_COUNT = num('BENCH_LARGE_COUNT', 8);
const LARGE_BYTES = num('BENCH_LARGE_MIB', 256) * MiB;
const HUGE_BYTES = num('BENCH_HUGE_MIB', 5 * 1024) * MiB;
/** Interleaved rounds of ours and bare; the fastest of each side counts. */
const ROUNDS = Math.max(1, num('BENCH_ROUNDS', 2));
const TRANSFERS = (env.BENCH_RCLONE_TRANSFERS ?? '8,16,32,64').split(',').map(Number);
/** rclone's --transfers sweep runs on the first this-many small objects; the best then copies them all. */
const SWEEP_COUNT = num('BENCH_RCLONE_SWEEP_COUNT', 2000);
const ONLY = new Set((env.BENCH_ONLY ?? 'small,large,procs,huge').split(','));
/** The worker's own default; the bare loop runs at the same concurrency. */
const CONCURRENCY = num('BENCH_CONCURRENCY', configSchema.parse({ mysql_table: 'x' }).transfer_concurrency);
const CMD = '`npx tsx bench/transfer/run.bench.ts`';

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
const mibPerS = (bytes: number, ms: number): string => `${((bytes / MiB / ms) * 1000).toFixed(0)} MiB/s`;
const sizeText = (b: number): string => (b >= 1024 * MiB ? `${b / 1024 / MiB} GiB` : b >= MiB ? `${b / MiB} MiB` : `${b / 1024} KiB`);
const say = (s: string): void => void process.stderr.write(`[transfer bench ${new Date().toISOString().slice(11, 19)} load ${load()}] ${s}\n`);
/** A stuck run fails instead of hanging: 2 minutes plus 1 s per 2 MiB (or per 20 objects). */
const timeoutFor = (objects: ObjectEntry[]): number => 120_000 + Math.max(objects.reduce((n, e) => n + e.size, 0) / (2 * MiB), objects.length / 20) * 1000;

let seq = 0;
async function bucket(w: World, what: string): Promise<string> {
  const name = `bench-${what}-${++seq}`;
  await createGcsBucket(w, name);
  return name;
}

/** One measured run: wall time, CPU of the side under test, and of each fixture server meanwhile. */
interface Run {
  ms: number;
  cpuMs: number;
  cdnCpuMs: number;
  gcsCpuMs: number;
  peakRssMiB?: number;
  startRssMiB?: number;
  transfers?: number;
}

/** rclone's best run, or why it could not run at all. */
type RcloneResult = Run | { failed: string };

async function measured(w: World, fn: () => Promise<{ ms: number; cpuMs: number; peakRssMiB?: number; startRssMiB?: number }>): Promise<Run> {
  const before = fixtureCpu(w.pids);
  const r = await fn();
  const after = fixtureCpu(w.pids);
  return { ...r, cdnCpuMs: after.cdn - before.cdn, gcsCpuMs: after.gcs - before.gcs };
}

const show = (r: Run): string => `${Math.round(r.ms)} ms, cpu ${Math.round(r.cpuMs)} ms, cdn cpu ${Math.round(r.cdnCpuMs)} ms, gcs cpu ${Math.round(r.gcsCpuMs)} ms`;

let entry = '';
async function ours(w: World, what: string, objects: ObjectEntry[], processes: number): Promise<Run> {
  const b = await bucket(w, what);
  const r = await measured(w, () => runWorker(w, { entry, name: b, bucket: b, processes, concurrency: CONCURRENCY, timeoutMs: timeoutFor(objects) }, objects));
  say(`ours ${what} (${processes} proc): ${show(r)}, peak RSS ${r.peakRssMiB} MiB (${r.startRssMiB} MiB once subscribed)`);
  return r;
}

async function bare(w: World, what: string, objects: ObjectEntry[]): Promise<Run> {
  const b = await bucket(w, what);
  const job = { cdnBase: syntheticBase(w), gcs: w.gcs, bucket: b, keyPairId: KEY_PAIR_ID, privateKeyPem: w.privateKeyPem, concurrency: CONCURRENCY };
  const r = await measured(w, () => runBareProcess(job, objects, join(w.dir, `bare-${b}.json`)));
  say(`bare ${what}: ${show(r)}`);
  return r;
}

/** rclone at each --transfers; the fastest is kept. Signed URLs are off for these runs only. */
async function rcloneBest(w: World, what: string, objects: ObjectEntry[], transfers: number[]): Promise<RcloneResult> {
  let best: Run | undefined;
  let failure = '';
  await setSigning(w, false);
  try {
    for (const t of transfers) {
      const b = await bucket(w, `${what}-rclone`);
      try {
        const r = await measured(w, () => runRclone({ cdnBase: syntheticBase(w), gcs: w.gcs, bucket: b, transfers: t, dir: w.dir }, objects));
        say(`rclone ${what} --transfers ${t}: ${show(r)}`);
        if (!best || r.ms < best.ms) best = { ...r, transfers: t };
      } catch (err) {
        // Reported in the results line rather than aborting the other measurements.
        failure = /ERROR : [^:]+: (.*)/.exec((err as Error).message)?.[1] ?? (err as Error).message.split('\n')[0];
        say(`rclone ${what} --transfers ${t} failed: ${(err as Error).message.slice(-600)}`);
      }
    }
  } finally {
    await setSigning(w, true);
  }
  return best ?? { failed: failure };
}

/** `how`: how --transfers was chosen. */
const rcloneText = (rc: RcloneResult, O: Run, how: string, rate: (ms: number) => string, target?: number): string =>
  'failed' in rc
    ? `rclone 1.60 not measured: every run failed against the GCS emulator (${rc.failed})`
    : `${rateRatio(O.ms, rc.ms)} rclone 1.60 --transfers ${rc.transfers}, ${how} (${rate(rc.ms)}${target === undefined ? '' : `; target >= ${target}x ${verdict(rc.ms / O.ms >= target)}`})`;
const rcloneCpu = (rc: RcloneResult, n: number, unit: string, digits: number): string => ('failed' in rc ? 'rclone n/a' : `rclone ${cpuPer(rc, n, unit, digits)}`);

const fastest = (runs: Run[]): Run => runs.reduce((a, b) => (b.ms < a.ms ? b : a));
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const cpuPer = (r: Run, n: number, unit: string, digits: number): string => `${(r.cpuMs / n).toFixed(digits)} ${unit}`;
const fixturesPer = (r: Run, n: number, unit: string, digits: number): string => `CDN ${(r.cdnCpuMs / n).toFixed(digits)}, GCS ${(r.gcsCpuMs / n).toFixed(digits)} ${unit}`;

const w = await startWorld();
const loadStart = load();
const oneMin = (): string => loadavg()[0].toFixed(1);
let wrote = false;

/**
 * Each workload's lines carry their own tag in RESULTS.md, so re-running one workload (BENCH_ONLY)
 * replaces only its lines. Written when the workload ran at its issue-6 size (or with BENCH_WRITE=1);
 * otherwise printed only.
 */
function emit(tag: string, lines: string[], fullSize: boolean): void {
  if (!(fullSize || env.BENCH_WRITE === '1')) {
    for (const l of lines) process.stdout.write(`${l}\n`);
    return;
  }
  if (!wrote) writeResults('transfer', []); // the single-tag lines of earlier versions of this benchmark
  wrote = true;
  writeResults(`transfer-${tag}`, lines);
}

/** One workload, given a note of the machine's load while it ran; a failure becomes its results line. */
async function section(name: string, fullSize: boolean, fn: (loadNote: () => string) => Promise<void>): Promise<void> {
  const from = oneMin();
  try {
    await fn(() => `1-min load ${from}->${oneMin()}`);
  } catch (err) {
    const e = err as Error;
    say(`${name} failed: ${e.stack ?? e.message}`);
    emit(name, [`- cdnTransfer ${name}: not measured, the run failed: ${e.message.split('\n')[0].slice(0, 300)} -- ${CMD}`], fullSize);
  }
}

const SMALL_FULL = SMALL_COUNT === 20_000 && SMALL_BYTES === 16 * 1024;
const LARGE_FULL = LARGE_COUNT === 8 && LARGE_BYTES === 256 * MiB;
const HUGE_FULL = HUGE_BYTES === 5 * 1024 * MiB;

try {
  if (env.BENCH_BUILD === '0') entry = 'bin/ott.mjs';
  else {
    say('compiling src/ (tsc) into a temp dir: the worker runs as built JavaScript, as on the VMs');
    entry = await buildOtt(join(w.dir, 'ott-build'));
  }
  const runsAs = entry === 'bin/ott.mjs' ? 'through tsx' : 'built JS';
  say(`fixtures up; worker ${runsAs}; concurrency ${CONCURRENCY}; small ${SMALL_COUNT} x ${sizeText(SMALL_BYTES)}, large ${LARGE_COUNT} x ${sizeText(LARGE_BYTES)}, huge ${HUGE_BYTES ? sizeText(HUGE_BYTES) : 'skipped'}`);
  if (ONLY.has('small') || ONLY.has('procs')) await section('small', SMALL_FULL, async (loadNote) => {
    const small = await syntheticObjects('s', SMALL_COUNT, SMALL_BYTES);
    const o1: Run[] = [];
    const o2: Run[] = [];
    const b: Run[] = [];
    // Interleaved rounds: a burst of other work on the machine hits each side alike.
    for (let r = 0; r < ROUNDS; r++) {
      o1.push(await ours(w, 'small', small, 1));
      if (ONLY.has('small')) b.push(await bare(w, 'small', small));
      if (ONLY.has('procs')) o2.push(await ours(w, 'small2p', small, 2));
    }
    const label = `${SMALL_COUNT.toLocaleString('en')} x ${sizeText(SMALL_BYTES)}`;
    const O = fastest(o1);
    if (ONLY.has('procs')) {
      const O2 = fastest(o2);
      emit('procs', [
        `- cdnTransfer 2 processes vs 1 (${label}, concurrency ${CONCURRENCY} each): ${rateRatio(O.ms, O2.ms)} (2 processes ${perSecond(SMALL_COUNT, O2.ms)}, 1 process ${perSecond(SMALL_COUNT, O.ms)}; CPU per object ${cpuPer(O2, SMALL_COUNT, 'ms', 2)} vs ${cpuPer(O, SMALL_COUNT, 'ms', 2)}; 2 cores shared with the fixtures; ${loadNote()}) -- ${CMD}`,
      ], SMALL_FULL);
    }
    if (ONLY.has('small')) {
      const B = fastest(b);
      let sweep = TRANSFERS;
      let how = `the fastest of ${TRANSFERS.join('/')}`;
      if (SMALL_COUNT > SWEEP_COUNT && TRANSFERS.length > 1) {
        const pick = await rcloneBest(w, 'small-sweep', small.slice(0, SWEEP_COUNT), TRANSFERS);
        if (!('failed' in pick)) sweep = [pick.transfers!];
        how += ` on the first ${SWEEP_COUNT.toLocaleString('en')} objects`;
      }
      const rc = await rcloneBest(w, 'small', small, sweep);
      emit('small', [
        `- cdnTransfer small (${label}, concurrency ${CONCURRENCY}): ${rateRatio(O.ms, B.ms)} of a bare undici GET->MD5->GCS multipart loop (ours ${perSecond(SMALL_COUNT, O.ms)}, bare ${perSecond(SMALL_COUNT, B.ms)}; target >= 0.6x ${verdict(B.ms / O.ms >= 0.6)}), ` +
          `${rcloneText(rc, O, how, (ms) => perSecond(SMALL_COUNT, ms), 1.5)}; ${loadNote()} -- ${CMD}`,
        `- cdnTransfer small, CPU per object (steadier than rates on a shared machine): ours ${cpuPer(O, SMALL_COUNT, 'ms', 2)}, bare ${cpuPer(B, SMALL_COUNT, 'ms', 2)}, ${rcloneCpu(rc, SMALL_COUNT, 'ms', 2)}; fixture servers during ours ${fixturesPer(O, SMALL_COUNT, 'ms', 2)}, during bare ${fixturesPer(B, SMALL_COUNT, 'ms', 2)} -- ${CMD}`,
      ], SMALL_FULL);
    }
  });
  if (ONLY.has('large')) await section('large', LARGE_FULL, async (loadNote) => {
    const large = await syntheticObjects('l', LARGE_COUNT, LARGE_BYTES);
    const bytes = LARGE_COUNT * LARGE_BYTES;
    const mib = bytes / MiB;
    const o: Run[] = [];
    const b: Run[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      o.push(await ours(w, 'large', large, 1));
      b.push(await bare(w, 'large', large));
    }
    const O = fastest(o);
    const B = fastest(b);
    const rss = Math.max(...o.map((r) => r.peakRssMiB ?? 0));
    // More transfers than objects cannot help: the sweep stops at the object count.
    const tried = [...new Set(TRANSFERS.map((t) => Math.min(t, LARGE_COUNT)))];
    const rc = await rcloneBest(w, 'large', large, tried);
    emit('large', [
      `- cdnTransfer large (${LARGE_COUNT} x ${sizeText(LARGE_BYTES)}): ${rateRatio(O.ms, B.ms)} of a bare undici GET->MD5->GCS resumable loop, 8 MiB chunks (ours ${mibPerS(bytes, O.ms)}, bare ${mibPerS(bytes, B.ms)}, ours peak RSS ${rss} MiB; target >= 0.8x ${verdict(B.ms / O.ms >= 0.8)}), ` +
        `${rcloneText(rc, O, tried.length > 1 ? `the fastest of ${tried.join('/')}` : `one per object`, (ms) => mibPerS(bytes, ms))}; ${loadNote()} -- ${CMD}`,
      `- cdnTransfer large, CPU per MiB: ours ${cpuPer(O, mib, 'ms', 1)}, bare ${cpuPer(B, mib, 'ms', 1)}, ${rcloneCpu(rc, mib, 'ms', 1)}; fixture servers during ours ${fixturesPer(O, mib, 'ms', 1)}, during bare ${fixturesPer(B, mib, 'ms', 1)} -- ${CMD}`,
    ], LARGE_FULL);
  });
  if (ONLY.has('huge') && HUGE_BYTES > 0) await section('huge', HUGE_FULL, async (loadNote) => {
    const huge = await syntheticObjects('h', 1, HUGE_BYTES);
    const r = await ours(w, 'huge', huge, 1);
    emit('huge', [
      `- cdnTransfer peak RSS copying one ${sizeText(HUGE_BYTES)} object: ${r.peakRssMiB} MiB (VmHWM of the worker process, ${runsAs}; ${r.startRssMiB} MiB once subscribed, before the object; target < 256 MiB ${verdict((r.peakRssMiB ?? Infinity) < 256)}; ${mibPerS(HUGE_BYTES, r.ms)}; ${loadNote()}) -- ${CMD}`,
    ], HUGE_FULL);
  });
  emit('conditions', [
    `- cdnTransfer benchmark conditions (last run): load average ${loadStart} at start, ${load()} at end (1/5/15 min; 2 cores shared with other work); worker = \`ott cdnTransfer\` (${runsAs}) fed by Pub/Sub, 50 keys per message, timed from the first publish until GCS holds every object; ours and bare fastest of ${ROUNDS} interleaved rounds; ` +
      `fixtures: CDN fixture synthetic origin checking signed URLs, GCS emulator --discard (MD5/CRC32C checked, nothing stored); rclone reads the same origin unsigned (its http backend cannot append a signed query per file) and checks sizes only (an http source has no hash) -- ${CMD}`,
  ], wrote);
} finally {
  await w.stop();
}
