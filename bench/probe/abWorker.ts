// Probe: A/B of the whole worker (ours, the built CLI fed by Pub/Sub, as the small benchmark runs it) under
// different node flags, alternating A, B, A, B... against one world, so drift of the machine falls on both.
// Usage: npx tsx bench/probe/abWorker.ts [objects] [rounds] '<flags A>' '<flags B>' ...   ('' = none; the
// flags come after the unit's NODE_OPTIONS, which the worker always gets; leading NAME=value words set the worker's
// environment, e.g. 'MALLOC_ARENA_MAX=2'). PROBE_BYTES: object size (16 KiB).
//   e.g. npx tsx bench/probe/abWorker.ts 20000 4 '' '--max-semi-space-size=32'
//        PROBE_BYTES=268435456 npx tsx bench/probe/abWorker.ts 8 2 '' '--max-semi-space-size=4'
import { join } from 'node:path';
import { startWorld, syntheticObjects } from '../transfer/fixtures.js';
import { freshBucket, timeoutFor } from '../transfer/measure.js';
import { buildOtt, runWorker } from '../transfer/worker.js';

const count = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 4);
const variants = process.argv.slice(4);
const bytes = Number(process.env.PROBE_BYTES ?? 16 * 1024);
const w = await startWorld();
try {
  const entry = await buildOtt(join(w.dir, 'ott-build'));
  const objects = await syntheticObjects(w, 's', count, bytes);
  const cpu = new Map<string, number[]>();
  /** What the previous variant's environment words replaced, to put back. */
  let setEnv: Record<string, string | undefined> = {};
  for (let r = 0; r < rounds; r++) {
    for (const flags of variants) {
      // Leading NAME=value words are the worker's environment (e.g. MALLOC_ARENA_MAX=2), the rest its node flags.
      const words = flags.split(' ').filter(Boolean);
      const env = words.filter((x) => /^[A-Z_][A-Z0-9_]*=/.test(x));
      for (const [k, v] of Object.entries(setEnv)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      setEnv = Object.fromEntries(env.map((x) => [x.split('=')[0], process.env[x.split('=')[0]]]));
      for (const x of env) process.env[x.split('=')[0]] = x.slice(x.indexOf('=') + 1);
      process.env.BENCH_WORKER_NODE_ARGS = words.filter((x) => !env.includes(x)).join(' ');
      const bucket = await freshBucket(w, 'abw');
      const run = await runWorker(w, { entry, name: bucket, bucket, processes: 1, concurrency: 32, timeoutMs: timeoutFor(objects), extraConfig: { gcs_ramp_enabled: false } }, objects);
      process.stderr.write(`'${flags}': ${Math.round(run.ms)} ms, cpu ${Math.round(run.cpuMs)} ms, machine ${Math.round(run.machineCpuMs)} ms (Pub/Sub emulator ${Math.round(run.servicesCpuMs.pubsub)}), peak RSS ${run.peakRssMiB} MiB\n`);
      cpu.set(flags, [...(cpu.get(flags) ?? []), (run.cpuMs / count) * 1000]);
    }
  }
  for (const [flags, xs] of cpu) {
    const s = [...xs].sort((a, b) => a - b);
    const median = s[Math.floor(s.length / 2)];
    process.stdout.write(`'${flags}': median ${median.toFixed(1)} us per object (${(median / 1000 / (bytes / 1048576)).toFixed(2)} ms per MiB), min ${s[0].toFixed(1)}, all ${xs.map((x) => x.toFixed(1)).join(' ')}\n`);
  }
} finally {
  await w.stop();
}
