// Probe: A/B of the copy path's CPU per small object between checkouts (e.g. HEAD in a git worktree beside
// the working tree), each run in a process of its own, alternating A, B, A, B... against one world, so
// drift of the machine falls on both alike (medians of 5 rounds spread ~2%; single runs of the transfer
// benchmark, 5-15%). Each checkout needs node_modules (a symlink to this one's will do).
// Usage: npx tsx bench/probe/abCopyPath.ts [objects] [rounds] <checkout> <checkout> ...
//   e.g. git worktree add /tmp/base HEAD && ln -s $PWD/node_modules /tmp/base/node_modules
//        npx tsx bench/probe/abCopyPath.ts 20000 5 /tmp/base $PWD
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInChild } from '../transfer/child.js';
import { startWorld, syntheticObjects } from '../transfer/fixtures.js';
import { freshBucket, measured } from '../transfer/measure.js';
import { prepare } from '../transfer/worker.js';

const count = Number(process.argv[2] ?? 20000);
const rounds = Number(process.argv[3] ?? 4);
const roots = process.argv.slice(4);
const w = await startWorld();
try {
  const objects = await syntheticObjects(w, 's', count, 16 * 1024);
  const cpu = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const root of roots) {
      const bucket = await freshBucket(w, 'ab');
      const cfg = await prepare(w, { name: bucket, bucket, concurrency: 32, extraConfig: { gcs_ramp_enabled: false } }, objects, `unused-${bucket}`);
      const run = await measured(w, `ab ${root}`, bucket, objects, () => runInChild(pathToFileURL(join(root, 'bench/transfer/copyPath.ts')), 'runCopyPath', [cfg, objects, 32], join(w.dir, `ab-${bucket}.json`)));
      cpu.set(root, [...(cpu.get(root) ?? []), (run.cpuMs / count) * 1000]);
    }
  }
  for (const [root, xs] of cpu) {
    const s = [...xs].sort((a, b) => a - b);
    process.stdout.write(`${root}: median ${s[Math.floor(s.length / 2)].toFixed(1)} us, min ${s[0].toFixed(1)}, all ${xs.map((x) => x.toFixed(1)).join(' ')}\n`);
  }
} finally {
  await w.stop();
}
