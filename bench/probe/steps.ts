// Probe: where the copy path's CPU per small object goes, step by step from the bare loop towards ours.
// Each variant is the bare small loop (GET -> MD5 -> one multipart POST, read whole, one write) with some
// of the worker's habits switched on; each runs in a process of its own (child.ts), CPU from that process.
// Usage: npx tsx bench/probe/steps.ts [objects] [rounds] [variant,...]
//   variants: bare, agent (one undici Agent for both origins, origin per request, as createHttp),
//   signal (one AbortSignal, long-lived, on every request), signalfresh (a new AbortSignal per object), json (the upload's answer parsed, fields= asked),
//   meta (ours' metadata and ifGenerationMatch/fields query), data (the body read by 'data' events and
//   finished(), as readInto), hasher (StreamHasher and verdict), all (every one of them), copypath (the
//   worker's createCopier itself).
import { join } from 'node:path';
import { runInChild } from '../transfer/child.js';
import { startWorld, syntheticBase, syntheticObjects, KEY_PAIR_ID } from '../transfer/fixtures.js';
import { freshBucket, measured, type Run } from '../transfer/measure.js';
import { prepare } from '../transfer/worker.js';

const count = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 2);
const ALL = ['bare', 'agent', 'signal', 'signalfresh', 'json', 'meta', 'data', 'hasher', 'all', 'copypath', 'dispatch'];
const variants = (process.argv[4] ?? ALL.join(',')).split(',');
const w = await startWorld();
try {
  const objects = await syntheticObjects(w, 's', count, 16 * 1024);
  const best = new Map<string, Run>();
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) {
      const bucket = await freshBucket(w, `step-${v}`);
      const run =
        v === 'copypath'
          ? await (async () => {
              const cfg = await prepare(w, { name: bucket, bucket, concurrency: 32, extraConfig: { gcs_ramp_enabled: false } }, objects, `unused-${bucket}`);
              return measured(w, `step ${v}`, bucket, objects, () => runInChild(new URL('../transfer/copyPath.js', import.meta.url), 'runCopyPath', [cfg, objects, 32], join(w.dir, `step-${bucket}.json`)));
            })()
          : await measured(w, `step ${v}`, bucket, objects, () =>
              runInChild(new URL('./stepsLoop.js', import.meta.url), 'runStep', [{ cdnBase: syntheticBase(w), gcs: w.gcs, bucket, keyPairId: KEY_PAIR_ID, privateKeyPem: w.privateKeyPem, concurrency: 32, features: v === 'all' ? ALL.slice(1, -3).filter((f) => f !== 'signalfresh') : v === 'bare' ? [] : [v] }, objects], join(w.dir, `step-${bucket}.json`)),
            );
      const b = best.get(v);
      if (!b || run.cpuMs < b.cpuMs) best.set(v, run);
    }
  }
  const base = best.get('bare');
  for (const [v, run] of best) {
    process.stdout.write(`${v.padEnd(9)} ${(run.cpuMs / count * 1000).toFixed(1).padStart(6)} us CPU per object${base ? ` (${((run.cpuMs - base.cpuMs) / count * 1000).toFixed(1)} us over bare)` : ''}, ${Math.round(count / run.ms * 1000)}/s\n`);
  }
} finally {
  await w.stop();
}
