// Probe (preloaded with --import into the worker by BENCH_WORKER_NODE_ARGS): every 50 ms one line of
// process.memoryUsage() and the new space's capacity, and one line per GC (kind, duration), to the file
// named by OTT_PROBE_MEM_FILE. Not part of the tool.
import { appendFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

const file = process.env.OTT_PROBE_MEM_FILE;
// OTT_PROBE_V8_RUNTIME_FLAGS: V8 flags set at run time (v8.setFlagsFromString), as the tool itself could.
if (process.env.OTT_PROBE_V8_RUNTIME_FLAGS) v8.setFlagsFromString(process.env.OTT_PROBE_V8_RUNTIME_FLAGS);
if (file) {
  writeFileSync(file, '');
  const t0 = performance.now();
  const lines = [];
  const flush = () => {
    if (lines.length) appendFileSync(file, lines.splice(0).join('\n') + '\n');
  };
  const MiB = 1024 * 1024;
  const kinds = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'MC', [constants.NODE_PERFORMANCE_GC_MINOR]: 'sc', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'inc', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
  let snapDone = !process.env.OTT_PROBE_SNAPSHOT_AB_MIB;
  setInterval(() => {
    const m = process.memoryUsage();
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
    lines.push(`m ${(performance.now() - t0).toFixed(0)} rss ${(m.rss / MiB).toFixed(1)} heap ${(m.heapUsed / MiB).toFixed(1)} ext ${(m.external / MiB).toFixed(1)} ab ${(m.arrayBuffers / MiB).toFixed(1)} new ${(ns.space_size / MiB).toFixed(1)} old ${(old.space_used_size / MiB).toFixed(1)}`);
    if (!snapDone && m.arrayBuffers / MiB > Number(process.env.OTT_PROBE_SNAPSHOT_AB_MIB)) {
      snapDone = true;
      lines.push(`snapshot ${v8.writeHeapSnapshot(file + '.heapsnapshot')}`);
    }
    if (lines.length > 40) flush();
  }, 50).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) lines.push(`gc ${(e.startTime).toFixed(0)} ${kinds[e.detail?.kind] ?? e.detail?.kind} ${e.duration.toFixed(1)}`);
  }).observe({ entryTypes: ['gc'] });
  process.on('exit', flush);
}
