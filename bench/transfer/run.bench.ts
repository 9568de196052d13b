// Benchmark: the cdnTransfer worker (the real `ott cdnTransfer`, built JS, fed by Pub/Sub) against the
// bare limits and rclone 1.60 at its best, all in the same run on the same fixtures: the CDN fixture's
// synthetic origin behind its signature check, and the GCS emulator in --discard mode (MD5/CRC32C checked,
// nothing stored). Every side's output is counted in GCS. Workloads (issue 16):
// - small    20,000 x 16 KiB: ours vs the bare verified loop (>= 0.85x rate, <= 1.2x CPU per object,
//            peak RSS < 256 MiB), the bare unverified loop, rclone (small.ts);
// - parallel one 5 GiB object, CDN capped at 50 MiB/s per connection: ours vs our single stream (>= 4x),
//            the bare parallel-range loop (>= 0.8x), rclone with and without a local disk (parallel.ts);
// - large    8 x 256 MiB uncapped: ours vs the bare loop (>= 0.95x), unverified, rclone (large.ts);
// - procs    (only when named) 2 worker processes vs 1 on the small workload.
// Usage: npx tsx bench/transfer/run.bench.ts [small|parallel|large|procs ...] [flags]   (--help lists them)
// Lines are written to bench/RESULTS.md (by bench/results.ts) only for a workload run at its full size on
// a machine whose 1-min load was at most its core count at the start; otherwise they are printed only.
import { join } from 'node:path';
import { oneMinLoad, writeResults } from '../results.js';
import { fullSize, parseArgs, type Workload } from './args.js';
import { startWorld } from './fixtures.js';
import { CMD, plural, say, sizeText } from './measure.js';
import { runLarge } from './large.js';
import { runParallel } from './parallel.js';
import { bareModule, bareParallelModule, copyPathModule, type Ctx, type Emit } from './sides.js';
import { runSmall } from './small.js';
import { buildOtt } from './worker.js';
import { unitSettingsLabel } from './vmSettings.js';
import { useBuiltChildren } from './child.js';

let args;
try {
  args = parseArgs(process.argv.slice(2), process.env);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
const a = args;
const w = await startWorld();
const startLoad = oneMinLoad();
const written = new Set<string>();

/** One workload, its lines stamped with its own load; a failure becomes its results line. */
async function section(name: Workload, fn: (emit: Emit) => Promise<void>): Promise<void> {
  const loadAtStart = oneMinLoad();
  const emit: Emit = (tag, lines) => {
    if (writeResults(`transfer-${tag}`, lines, { loadAtStart, print: !fullSize(a, tag) })) written.add(tag);
  };
  try {
    await fn(emit);
  } catch (err) {
    const e = err as Error;
    say(`${name} failed: ${e.stack ?? e.message}`);
    emit(name, [`- cdnTransfer ${name}: not measured, the run failed: ${e.message.split('\n')[0].slice(0, 300)} -- ${CMD}`]);
  }
}

try {
  let entry = 'bin/ott.mjs';
  if (a.build) {
    say('compiling src/ (tsc) into a temp dir: the worker runs as built JavaScript, as on the VMs; the bare loops too');
    entry = await buildOtt(join(w.dir, 'ott-build'));
    await useBuiltChildren(join(w.dir, 'children-build'), [bareModule, bareParallelModule, copyPathModule]);
  }
  const runsAs = entry === 'bin/ott.mjs' ? 'through tsx' : 'built JS';
  const c: Ctx = { w, args: a, entry };
  say(`fixtures up; worker ${runsAs}; concurrency ${a.concurrency}; workloads ${[...a.workloads].join(', ')}; rounds ${a.rounds}; extra config ${JSON.stringify(a.ottConfig)}`);
  // small, procs and copypath share the small objects and one set of interleaved rounds (small.ts).
  const smallObjects = (['small', 'procs', 'copypath'] as const).find((x) => a.workloads.has(x));
  if (smallObjects) await section(smallObjects, (emit) => runSmall(c, emit));
  if (a.workloads.has('parallel')) await section('parallel', (emit) => runParallel(c, emit));
  if (a.workloads.has('large')) await section('large', (emit) => runLarge(c, emit));
  // The 5 GiB peak-RSS line of the earlier benchmark: the parallel workload measures it now.
  if (written.has('parallel')) writeResults('transfer-huge', []);
  const conditions = [
    `- cdnTransfer benchmark conditions (last run): workloads ${[...(written.size ? written : a.workloads)].join(', ')}; worker = \`ott cdnTransfer\` (${runsAs}, the VMs' unit's runtime settings: \`${unitSettingsLabel()}\`) fed by a Pub/Sub backlog published before its clock (50 keys per message, as publishObjectsList runs ahead of the workers), timed from its started line (logged once its Pub/Sub client is built and its stub made, before its stream opens) until GCS holds every object; ` +
      `every side's output counted in the GCS emulator (objects and bytes); ours, the bare loops and rclone's best settings run the same ${plural(a.rounds, 'interleaved round')}, the fastest counts; bare loops run in processes of their own (${runsAs}, as ours, under ours' runtime settings: the unit's NODE_OPTIONS and MALLOC_ARENA_MAX and the copy modes' src/common/heap.ts); ` +
      `fixtures: CDN fixture synthetic origin checking signed URLs (per-connection cap ${sizeText(a.parallel.capBytesPerS)}/s for parallel only), GCS emulator --discard (MD5/CRC32C checked, nothing stored); ` +
      `rclone reads the same origin unsigned (its http backend cannot append a signed query per file) and checks sizes only (an http source has no hash) -- ${CMD}`,
  ];
  if (written.size) writeResults('transfer-conditions', conditions, { loadAtStart: startLoad });
  else for (const l of conditions) process.stdout.write(`${l}\n`);
} finally {
  await w.stop();
}
