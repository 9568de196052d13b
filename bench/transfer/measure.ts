// What every transfer workload shares: one measured run (wall time, the side's own CPU, the fixture
// servers' CPU, the CDN requests it made), the proof that a run's output is in GCS (counted there, for
// every side alike), the sweep that picks a peer's best settings, and the formatting of figures.
import { loadavg } from 'node:os';
import type { ObjectEntry } from '../../src/common/messages.js';
import { cdnStats } from '../../test/stack/cdn/client.js';
import { cpuWindow } from './cpu.js';
import type { SecondHalf } from './bare.js';
import { countObjects, createGcsBucket, type World } from './fixtures.js';
import { MACHINES_NODE_MAJOR, NODE_MAJOR } from '../results.js';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** How to run it again: on another Node than the machines', through the npm registry's `node` package (the VMs run 24). */
export const CMD = NODE_MAJOR === MACHINES_NODE_MAJOR ? '`npx tsx bench/transfer/run.bench.ts`' : `\`npx -y -p node@${process.versions.node} -- node --import tsx bench/transfer/run.bench.ts\``;

/** One measured run of one side. */
export interface Run {
  ms: number;
  /** CPU of the side under test (its process tree). */
  cpuMs: number;
  cdnCpuMs: number;
  gcsCpuMs: number;
  /** The machine's busy CPU during the run less the side's and the fixture servers' (Pub/Sub emulator, MariaDB, the bench, the kernel). */
  restCpuMs: number;
  pubsubCpuMs: number;
  mysqlCpuMs: number;
  /** Requests the CDN fixture answered during the run (GET + HEAD): shows ranged or per-file requests. */
  cdnGets: number;
  cdnHeads: number;
  peakRssMiB?: number;
  startRssMiB?: number;
  firstObject?: { ms: number; cpuMs: number };
  /** The run's second half: from half its objects done to its end, start-up and warm-up behind it (small-object loops and ours). */
  secondHalf?: SecondHalf;
}

export type SideResult = {
  ms: number;
  cpuMs: number;
  peakRssMiB?: number;
  startRssMiB?: number;
  /** From the clock's start to the first object in GCS: the side's start-up inside its clock (ours: the stream opening). */
  firstObject?: { ms: number; cpuMs: number };
  secondHalf?: SecondHalf;
  /** The machine's busy CPU within the side's own clock (else the whole call's, start-up included). */
  machineCpuMs?: number;
  /** The Pub/Sub emulator's and MariaDB's CPU within the side's own clock (else the whole call's). */
  servicesCpuMs?: { pubsub: number; mysql: number };
};

const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
export const say = (s: string): void => void process.stderr.write(`[transfer bench ${new Date().toISOString().slice(11, 19)} load ${load()}] ${s}\n`);

let seq = 0;
/** A fresh GCS bucket per measured run: writes carry ifGenerationMatch=0, and the count is per bucket. */
export async function freshBucket(w: World, what: string): Promise<string> {
  const name = `bench-${what.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${++seq}`;
  await createGcsBucket(w, name);
  return name;
}

/** Throws unless `bucket` holds exactly these objects' count and bytes (the emulator keeps metadata in --discard). */
export async function expectInGcs(w: World, bucket: string, objects: ObjectEntry[], who: string): Promise<void> {
  const got = await countObjects(w, bucket);
  const want = objects.reduce((n, e) => n + e.size, 0);
  if (got.count !== objects.length || got.bytes !== want) throw new Error(`${who}: GCS bucket ${bucket} holds ${got.count} objects / ${got.bytes} bytes, expected ${objects.length} / ${want}`);
}

/** Runs one side, with the fixture servers' CPU and the CDN's request counts around it; its output must be in GCS. */
export async function measured(w: World, who: string, bucket: string, objects: ObjectEntry[], fn: () => Promise<SideResult>): Promise<Run> {
  const cdn0 = await cdnStats(w.cdn);
  const window = cpuWindow(w.pids);
  const r = await fn();
  const used = window();
  const cdn1 = await cdnStats(w.cdn);
  await expectInGcs(w, bucket, objects, who);
  const [cdnCpuMs, gcsCpuMs] = [used.cdn, used.gcs];
  const restCpuMs = Math.max(0, (r.machineCpuMs ?? used.machine) - r.cpuMs - cdnCpuMs - gcsCpuMs);
  const services = r.servicesCpuMs ?? used;
  const run = { ...r, cdnCpuMs, gcsCpuMs, restCpuMs, pubsubCpuMs: services.pubsub, mysqlCpuMs: services.mysql, cdnGets: cdn1.get - cdn0.get, cdnHeads: cdn1.head - cdn0.head };
  say(`${who}: ${show(run)}`);
  return run;
}

const show = (r: Run): string =>
  `${Math.round(r.ms)} ms, cpu ${Math.round(r.cpuMs)} ms, cdn cpu ${Math.round(r.cdnCpuMs)} ms, gcs cpu ${Math.round(r.gcsCpuMs)} ms, rest of the machine ${Math.round(r.restCpuMs)} ms (Pub/Sub emulator ${Math.round(r.pubsubCpuMs)}, MariaDB ${Math.round(r.mysqlCpuMs)}), cdn ${r.cdnGets} GET ${r.cdnHeads} HEAD` +
  (r.peakRssMiB === undefined ? '' : `, peak RSS ${r.peakRssMiB} MiB (${r.startRssMiB} MiB once subscribed)`) +
  (r.firstObject ? `, first object in GCS after ${Math.round(r.firstObject.ms)} ms and ${Math.round(r.firstObject.cpuMs)} ms CPU` : '');

export const fastest = (runs: Run[]): Run => runs.reduce((a, b) => (b.ms < a.ms ? b : a));

/**
 * Every side once per round, in order, for `rounds` rounds: a burst of other work on the machine hits
 * every side alike. Returns each side's runs (none for a side given as undefined).
 */
export async function interleaved<K extends string>(rounds: number, sides: Record<K, (() => Promise<Run>) | undefined>): Promise<Record<K, Run[]>> {
  const out = Object.fromEntries(Object.keys(sides).map((k) => [k, []])) as unknown as Record<K, Run[]>;
  for (let r = 0; r < rounds; r++) {
    for (const k of Object.keys(sides) as K[]) {
      const side = sides[k];
      if (side) out[k].push(await side());
    }
  }
  return out;
}

/** A peer's settings tried once each; the fastest is kept, failures are reported and skipped. */
export interface Swept<C> {
  best?: { setting: C; run: Run };
  tried: number;
  /** The first failure's reason, for the results line when nothing ran. */
  failed?: string;
}

export async function sweep<C>(what: string, settings: C[], label: (c: C) => string, runOne: (c: C) => Promise<Run>): Promise<Swept<C>> {
  const out: Swept<C> = { tried: settings.length };
  for (const c of settings) {
    try {
      const run = await runOne(c);
      if (!out.best || run.ms < out.best.run.ms) out.best = { setting: c, run };
    } catch (err) {
      const msg = (err as Error).message;
      out.failed ??= (/ERROR : [^:]+: (.*)/.exec(msg)?.[1] ?? msg.split('\n')[0]).slice(0, 200);
      say(`${what} ${label(c)} failed: ${msg.slice(-600)}`);
    }
  }
  if (out.best) say(`${what}: best of ${settings.length} settings is ${label(out.best.setting)}`);
  return out;
}

/** Parses `16KiB`, `256MiB`, `5GiB`, `50MB`, or plain bytes. */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|KiB|MiB|GiB|KB|MB|GB|K|M|G)$/i.exec(text.trim());
  const unit: Record<string, number> = { '': 1, b: 1, kib: 1024, k: 1024, mib: MiB, m: MiB, gib: GiB, g: GiB, kb: 1e3, mb: 1e6, gb: 1e9 };
  const n = m ? Math.round(Number(m[1]) * unit[m[2].toLowerCase()]) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`Expected \`${what}\` to be a size such as 16KiB, 256MiB or 5GiB, got \`${text}\``);
  return n;
}

export const sizeText = (b: number): string => (b >= GiB && b % (GiB / 4) === 0 ? `${b / GiB} GiB` : b >= MiB ? `${+(b / MiB).toFixed(1)} MiB` : `${+(b / 1024).toFixed(1)} KiB`);
export const mibPerS = (bytes: number, ms: number): string => `${((bytes / MiB / ms) * 1000).toFixed(0)} MiB/s`;
/** `3 rounds`, `1 round`. */
export const plural = (n: number, word: string): string => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
export const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
export const cpuPer = (r: Run, n: number, unit: string, digits: number): string => `${(r.cpuMs / n).toFixed(digits)} ${unit}`;
export const fixturesPer = (r: Run, n: number, unit: string, digits: number): string =>
  `CDN ${(r.cdnCpuMs / n).toFixed(digits)}, GCS ${(r.gcsCpuMs / n).toFixed(digits)}, rest of the machine ${(r.restCpuMs / n).toFixed(digits)} ${unit} (Pub/Sub emulator ${(r.pubsubCpuMs / n).toFixed(digits)})`;
/** A stuck run fails instead of hanging: 2 minutes plus the time at `bytesPerS` or at 20 objects/s, whichever is longer. */
export const timeoutFor = (objects: ObjectEntry[], bytesPerS = 2 * MiB): number =>
  120_000 + Math.max(objects.reduce((n, e) => n + e.size, 0) / bytesPerS, objects.length / 20) * 1000;
