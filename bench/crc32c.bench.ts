// Benchmark: CRC32C, the slicing-by-8 JavaScript the tool used until issue 16 (now the fixtures' independent check, crc32cJs in test/stack/crc32c.ts) against
// @node-rs/crc32's native crc32c (SSE4.2 / SIMD), on 16 KiB buffers (a small object) and 8 MiB buffers (a
// resumable chunk). Both must agree with the standard check value and with each other, incrementally
// too (the tool continues a CRC chunk by chunk), before any time counts. Best of 5 interleaved rounds of
// at least 64 MiB each per implementation and size, timed in CPU time of this
// (single-threaded) process: rates are per CPU-second of one core.
// Usage: npx tsx bench/crc32c.bench.ts [--rounds 5] [--mib 64]
import { randomBytes } from 'node:crypto';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import { crc32cJs as jsCrc32c } from '../test/stack/crc32c.js';
import { rateRatio, writeResults } from './results.js';

const MiB = 1024 * 1024;
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected \`--${name}\` to be an integer from 1 and up, got \`${process.argv[i + 1]}\``);
  return n;
};
const ROUNDS = arg('rounds', 5);
const MIB_PER_ROUND = arg('mib', 64);

type Crc = (buf: Uint8Array, crc?: number) => number;
const impls: Record<'js' | 'native', Crc> = { js: jsCrc32c, native: (b, c) => nativeCrc32c(b, c) };

/** Same answers from both, whole and continued, or the benchmark stops before timing anything. */
function checkAgreement(): void {
  const check = Buffer.from('123456789');
  for (const [name, f] of Object.entries(impls)) {
    if (f(check) !== 0xe3069283) throw new Error(`${name} crc32c("123456789") = ${f(check).toString(16)}, expected e3069283`);
  }
  for (const n of [0, 1, 7, 8, 9, 16 * 1024, 8 * MiB + 3]) {
    const buf = randomBytes(n);
    const cut = Math.floor(n / 3);
    const whole = impls.js(buf);
    for (const [name, f] of Object.entries(impls)) {
      if (f(buf) !== whole) throw new Error(`${name} disagrees on ${n} random bytes: ${f(buf)} vs ${whole}`);
      if (f(buf.subarray(cut), f(buf.subarray(0, cut))) !== whole) throw new Error(`${name} continued over a cut at ${cut} of ${n} bytes disagrees`);
    }
  }
}

/**
 * CPU ms (user + system of this process) for `calls` calls on `buf`: on a shared machine wall time counts
 * the time other processes hold the core, CPU time does not. The result is kept so the work stays.
 */
function timeOnce(f: Crc, buf: Buffer, calls: number): number {
  let acc = 0;
  const t = process.cpuUsage();
  for (let i = 0; i < calls; i++) acc ^= f(buf, acc);
  const used = process.cpuUsage(t);
  if (acc === 0.5) process.stdout.write('unreachable\n');
  return (used.user + used.system) / 1000;
}

function measure(sizeBytes: number): { js: number; native: number; calls: number } {
  const buf = randomBytes(sizeBytes);
  const calls = Math.max(1, Math.round((MIB_PER_ROUND * MiB) / sizeBytes));
  timeOnce(impls.js, buf, Math.ceil(calls / 8)); // warm-up: JIT and the native module's first call
  timeOnce(impls.native, buf, Math.ceil(calls / 8));
  const best = { js: Infinity, native: Infinity };
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of r % 2 ? (['native', 'js'] as const) : (['js', 'native'] as const)) best[name] = Math.min(best[name], timeOnce(impls[name], buf, calls));
  }
  return { ...best, calls };
}

checkAgreement();
const gibPerS = (bytes: number, ms: number): string => `${(bytes / 1024 / MiB / (ms / 1000)).toFixed(2)} GiB/s`;
const usPerCall = (ms: number, calls: number): string => `${((ms * 1000) / calls).toFixed(1)} µs`;
const lines: string[] = [];
for (const [label, size] of [['16 KiB', 16 * 1024], ['8 MiB', 8 * MiB]] as const) {
  const m = measure(size);
  const bytes = m.calls * size;
  process.stderr.write(`[crc32c ${label}] js ${m.js.toFixed(1)} ms, native ${m.native.toFixed(1)} ms for ${m.calls} calls\n`);
  lines.push(
    `- crc32c on ${label} buffers: @node-rs/crc32 1.10.8 (native) ${rateRatio(m.native, m.js)} of the tool's slicing-by-8 JS (native ${gibPerS(bytes, m.native)}, ${usPerCall(m.native, m.calls)} per call; JS ${gibPerS(bytes, m.js)}, ${usPerCall(m.js, m.calls)} per call; CPU time, ` +
      `results equal, incremental too; best of ${ROUNDS} interleaved rounds of ${MIB_PER_ROUND} MiB; Node ${process.versions.node}) -- \`npx tsx bench/crc32c.bench.ts\``,
  );
}
writeResults('crc32c', lines, { print: ROUNDS !== 5 || MIB_PER_ROUND !== 64 });
