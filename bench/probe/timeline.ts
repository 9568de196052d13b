// Probe: where a workload's CPU goes over time, ours (the whole worker) beside its copy path alone and the
// bare loop, one run of each in the order given against one world. Every TICK_MS it reads the objects in GCS (the emulator's
// /__stats) and the CPU of the side's processes (by thread kind where the runtime names them: Node 24's
// MainThread and V8Worker, the JIT compilers' and collector's helpers), the fixtures and the Pub/Sub
// emulator, and prints per-object CPU by tenth of the run: where warm-up ends and what it costs each side.
// Usage: npx tsx bench/probe/timeline.ts [objects] [sides in order: ours, copypath, bare; ours,bare]
//   a side may carry environment words for its process: bare:MALLOC_ARENA_MAX=8   (PROBE_BYTES: object size, 16 KiB)
import { join } from 'node:path';
import { runInChild, useBuiltChildren } from '../transfer/child.js';
import { machineCpuMs, pidsOf, processCpuMs, threadCpuMs } from '../transfer/cpu.js';
import { gcsStats, KEY_PAIR_ID, startWorld, syntheticBase, syntheticObjects, type World } from '../transfer/fixtures.js';
import { freshBucket, timeoutFor } from '../transfer/measure.js';
import { bareModule, copyPathModule } from '../transfer/sides.js';
import { buildOtt, prepare, runWorker } from '../transfer/worker.js';
import type { BareOptions } from '../transfer/bare.js';

const TICK_MS = 100;
const TENTHS = 10;
const count = Number(process.argv[2] ?? 20000);
const sides = (process.argv[3] ?? 'ours,bare').split(',');
const bytes = Number(process.env.PROBE_BYTES ?? 16 * 1024);

interface Tick {
  at: number;
  machine: number;
  objects: number;
  main: number;
  v8: number;
  cdn: number;
  gcs: number;
  pubsub: number;
}

/** The CPU of every process whose command line names `tag` (the side's config or job file), V8's helper threads apart. */
function sideCpu(tag: string): { main: number; v8: number } {
  const out = { main: 0, v8: 0 };
  for (const pid of pidsOf(tag)) {
    for (const t of threadCpuMs(pid)) {
      if (t.name.startsWith('V8')) out.v8 += t.ms;
      else out.main += t.ms;
    }
  }
  return out;
}

async function watch<T>(w: World, tag: string, run: () => Promise<T>): Promise<Tick[]> {
  const ticks: Tick[] = [];
  let stopped = false;
  const tick = async (): Promise<void> => {
    const stats = await gcsStats(w);
    ticks.push({ at: Date.now(), machine: machineCpuMs(), objects: stats.objects, ...sideCpu(tag), cdn: processCpuMs(w.pids.cdn) ?? 0, gcs: processCpuMs(w.pids.gcs) ?? 0, pubsub: processCpuMs(w.pids.pubsub) ?? 0 });
  };
  const loop = (async () => {
    while (!stopped) {
      await tick();
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  })();
  await run();
  stopped = true;
  await loop;
  await tick(); // every object in GCS by now (the side's process gone: report() takes its CPU from the ticks before)
  return ticks;
}

function report(who: string, ticks: Tick[], base: number): void {
  // From the first tick with the side's process alive and any object written, by tenths of the objects.
  const start = ticks.findIndex((t) => t.objects > base);
  const t0 = ticks[Math.max(0, start - 1)];
  // The side's CPU reads 0 once its process is gone: from then on its last reading (the highest) stands.
  const top = ticks.reduce((a, t) => (t.main + t.v8 > a.main + a.v8 ? t : a), ticks[0]);
  const side = (t: Tick): Tick => (t.main + t.v8 > 0 ? t : { ...t, main: top.main, v8: top.v8 });
  const rows: string[] = [];
  let prev = side(t0);
  for (let k = 1; k <= TENTHS; k++) {
    const goal = base + Math.ceil((count * k) / TENTHS);
    const t = side(ticks.find((x) => x.objects >= goal) ?? ticks[ticks.length - 1]);
    const n = Math.max(1, t.objects - prev.objects);
    const per = (f: keyof Tick): string => ((1000 * (t[f] - prev[f])) / n).toFixed(0).padStart(4);
    const ms = t.at - prev.at;
    rows.push(`  ${k}/10: ${String(n).padStart(5)} objects in ${String(ms).padStart(4)} ms, machine ${((100 * (t.machine - prev.machine)) / ms).toFixed(0).padStart(3)}% of a core; us per object: side main ${per('main')} v8 ${per('v8')} | cdn ${per('cdn')} gcs ${per('gcs')} pubsub ${per('pubsub')}`);
    prev = t;
  }
  const last = ticks[ticks.length - 1];
  // The side's whole process: its CPU counts from 0 at the first tick, before it started.
  const whole = `  whole: ${last.objects - base} objects in ${last.at - ticks[0].at} ms, the side's CPU ${top.main + top.v8} ms (V8 helpers ${top.v8})`;
  process.stdout.write(`${who}\n${rows.join('\n')}\n${whole}\n`);
}

const w = await startWorld();
try {
  const entry = await buildOtt(join(w.dir, 'ott-build'));
  await useBuiltChildren(join(w.dir, 'children-build'), [bareModule, copyPathModule]);
  const objects = await syntheticObjects(w, 's', count, bytes);
  const inherited = { ...process.env };
  for (const spec of sides) {
    // `bare:MALLOC_ARENA_MAX=8`: a side with environment words of its own, which win over the unit's (vmSettings.ts sideEnv).
    const [side, ...env] = spec.split(':');
    for (const k of Object.keys(process.env)) if (!(k in inherited)) delete process.env[k];
    Object.assign(process.env, inherited, Object.fromEntries(env.map((x) => [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)])));
    if (side === 'ours') {
      const bucket = await freshBucket(w, 'tl-ours');
      const base = (await gcsStats(w)).objects;
      const ticks = await watch(w, `cfg-${bucket}`, () => runWorker(w, { entry, name: bucket, bucket, processes: 1, concurrency: 32, timeoutMs: timeoutFor(objects), extraConfig: { gcs_ramp_enabled: false } }, objects));
      report(`${spec} (${process.version})`, ticks, base);
    } else if (side === 'copypath') {
      const bucket = await freshBucket(w, 'tl-cp');
      const base = (await gcsStats(w)).objects;
      const cfg = await prepare(w, { name: bucket, bucket, concurrency: 32, extraConfig: { gcs_ramp_enabled: false } }, objects, `unused-${bucket}`);
      const job = join(w.dir, `copypath-${bucket}.json`);
      const ticks = await watch(w, job, () => runInChild(copyPathModule, 'runCopyPath', [cfg, objects, 32], job));
      report(`${spec}: ours' copy path alone (${process.version})`, ticks, base);
    } else if (side === 'bare') {
      const bucket = await freshBucket(w, 'tl-bare');
      const base = (await gcsStats(w)).objects;
      const o: BareOptions = { cdnBase: syntheticBase(w), gcs: w.gcs, bucket, keyPairId: KEY_PAIR_ID, privateKeyPem: w.privateKeyPem, concurrency: 32, verify: true };
      const job = join(w.dir, `bare-${bucket}.json`);
      const ticks = await watch(w, job, () => runInChild(bareModule, 'runBare', [o, objects], job));
      report(`${spec} (${process.version})`, ticks, base);
    } else {
      throw new Error(`Expected a side of ours, copypath or bare, got \`${side}\``);
    }
  }
} finally {
  await w.stop();
}
