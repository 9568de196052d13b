// Probe: ours alone on the small workload, N runs, the worker's memory sampled (memSampler.mjs).
// Usage: npx tsx bench/probe/repro.ts [runs] [objects]   (out: /tmp/rss-probe/run-<i>.log; see bench/README.md)
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { startWorld, syntheticObjects } from '../transfer/fixtures.js';
import { freshBucket, timeoutFor } from '../transfer/measure.js';
import { buildOtt, runWorker } from '../transfer/worker.js';

const runs = Number(process.argv[2] ?? 3);
const count = Number(process.argv[3] ?? 20000);
const out = '/tmp/rss-probe';
mkdirSync(out, { recursive: true });
const w = await startWorld();
try {
  const entry = await buildOtt(join(w.dir, 'ott-build'));
  const objects = await syntheticObjects(w, 's', count, 16 * 1024);
  const extra = (process.env.PROBE_NODE_ARGS ?? '').trim();
  const v8Args = process.env.OTT_PROBE_V8_ARGS;
  for (let i = 0; i < runs; i++) {
    const file = join(out, `run-${i}.log`);
    process.env.OTT_PROBE_MEM_FILE = file;
    process.env.BENCH_WORKER_NODE_ARGS = `--import ${resolve('bench/probe/memSampler.mjs')} ${extra}`;
    const bucket = await freshBucket(w, 'probe');
    // OTT_PROBE_V8_ARGS: the worker runs under traceWrap.mjs with these flags, its stdout kept beside the log.
    const wrap = v8Args ? resolve('bench/probe/traceWrap.mjs') : undefined;
    if (wrap) {
      process.env.OTT_PROBE_ENTRY = entry;
      process.env.OTT_PROBE_V8_ARGS = `${process.env.BENCH_WORKER_NODE_ARGS} ${v8Args}`;
      process.env.BENCH_WORKER_NODE_ARGS = '';
    }
    const r = await runWorker(w, { entry: wrap ?? entry, name: bucket, bucket, processes: 1, concurrency: 32, timeoutMs: timeoutFor(objects), extraConfig: { gcs_ramp_enabled: false } }, objects);
    process.stderr.write(`run ${i}: ${Math.round(r.ms)} ms, cpu ${Math.round(r.cpuMs)} ms, peak RSS ${r.peakRssMiB} MiB (start ${r.startRssMiB}) -> ${file}\n`);
  }
} finally {
  await w.stop();
}
