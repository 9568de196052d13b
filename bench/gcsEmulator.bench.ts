// Benchmark of a fixture, not of the tool: the GCS emulator's own CPU on the parallel path of issue 16, where
// it shares the 2 cores with the worker. One object as an XML API multipart upload (initiate; parts in
// parallel over keep-alive connections, each with Content-MD5 as the bare parallel loop sends them;
// complete), in --discard mode (what bench/transfer runs) and with --dir (tests, demo, chaos). CPU of the
// emulator's process from /proc: per MiB of parts received, and for the complete. `--server PATH` runs
// another checkout's test/stack/gcs/server.ts beside this one's, rounds interleaved: a change's before and
// after in one run. Prints its lines; writes nothing to RESULTS.md (no peer, no target).
// Usage: npx tsx bench/gcsEmulator.bench.ts [--mib 512] [--part-mib 8] [--streams 8] [--rounds 3] [--server PATH]
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { freePort, httpAnswers, tsNodeArgs } from '../test/stack/proc.js';
import { processCpuMs } from './transfer/cpu.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '512' }, 'part-mib': { type: 'string', default: '8' }, streams: { type: 'string', default: '8' }, rounds: { type: 'string', default: '3' }, server: { type: 'string' } } });
const whole = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected \`--${name}\` to be an integer from 1 and up, got \`${String(values[name])}\``);
  return n;
};
const [MIB, PART_MIB, STREAMS, ROUNDS] = [whole('mib'), whole('part-mib'), whole('streams'), whole('rounds')];
const servers: Record<string, string> = { 'this checkout': join(import.meta.dirname, '../test/stack/gcs/server.ts'), ...(values.server ? { [values.server]: values.server } : {}) };

// One part's bytes, sent for every part: what is measured is the emulator, not a generator.
const part = Buffer.alloc(PART_MIB * 1024 * 1024);
for (let i = 0; i < part.length; i += 4) part.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
const partMd5 = createHash('md5').update(part).digest('base64');
const CHUNK_BYTES = 64 * 1024;

interface Emulator {
  proc: ChildProcess;
  pool: Pool;
  dir?: string;
}

async function start(serverTs: string, discard: boolean): Promise<Emulator> {
  const port = await freePort();
  const dir = discard ? undefined : mkdtempSync(join(tmpdir(), 'gcs-bench-'));
  const proc = spawn(process.execPath, tsNodeArgs(serverTs, ['--port', String(port), ...(dir ? ['--dir', dir] : ['--discard'])]), { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; !(await httpAnswers(`${base}/__stats`)); i++) {
    if (i > 100) throw new Error(`${serverTs}: no answer on ${base} after 10 s`);
    await sleep(100);
  }
  await fetch(`${base}/storage/v1/b?project=bench`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench' }) });
  return { proc, pool: new Pool(base, { connections: STREAMS }), dir };
}

/** One upload; returns the emulator's CPU ms for the parts and for the complete. */
async function upload(e: Emulator, n: number): Promise<{ partsMs: number; completeMs: number }> {
  const cpu = (): number => processCpuMs(e.proc.pid!) ?? NaN;
  const c0 = cpu();
  const init = await e.pool.request({ path: `/bench/o${n}?uploads`, method: 'POST' });
  const id = /<UploadId>([^<]+)/.exec(await init.body.text())?.[1];
  if (!id) throw new Error('initiate: no UploadId');
  const parts = Math.ceil(MIB / PART_MIB);
  const etags: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < parts; i = next++) {
      const body = (function* () {
        for (let o = 0; o < part.length; o += CHUNK_BYTES) yield part.subarray(o, o + CHUNK_BYTES);
      })();
      const res = await e.pool.request({ path: `/bench/o${n}?partNumber=${i + 1}&uploadId=${id}`, method: 'PUT', headers: { 'content-length': String(part.length), 'content-md5': partMd5 }, body: Readable.from(body, { objectMode: false }) });
      if (res.statusCode !== 200) throw new Error(`part ${i + 1}: HTTP ${res.statusCode} ${await res.body.text()}`);
      etags[i] = String(res.headers.etag);
      await res.body.dump();
    }
  };
  await Promise.all(Array.from({ length: STREAMS }, lane));
  await sleep(200); // /proc counts in 10 ms ticks: let the last part's accounting land
  const c1 = cpu();
  const xml = `<CompleteMultipartUpload>${etags.map((t, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${t}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = await e.pool.request({ path: `/bench/o${n}?uploadId=${id}`, method: 'POST', body: xml });
  if (done.statusCode !== 200) throw new Error(`complete: HTTP ${done.statusCode} ${await done.body.text()}`);
  await done.body.dump();
  await sleep(200);
  return { partsMs: c1 - c0, completeMs: cpu() - c1 };
}

for (const discard of [true, false]) {
  const up = Object.fromEntries(await Promise.all(Object.entries(servers).map(async ([k, p]) => [k, await start(p, discard)] as const)));
  const got: Record<string, Array<{ partsMs: number; completeMs: number }>> = {};
  try {
    for (const e of Object.values(up)) await upload(e, 0); // warm-up: JIT, tsx's compile cache
    for (let r = 1; r <= ROUNDS; r++) for (const [k, e] of Object.entries(up)) (got[k] ??= []).push(await upload(e, r));
  } finally {
    for (const e of Object.values(up)) {
      await e.pool.close();
      e.proc.kill('SIGTERM');
      if (e.dir) rmSync(e.dir, { recursive: true, force: true });
    }
  }
  for (const [k, runs] of Object.entries(got)) {
    const mean = (f: (x: (typeof runs)[number]) => number): number => runs.reduce((a, x) => a + f(x), 0) / runs.length;
    process.stdout.write(
      `- gcs emulator (${discard ? '--discard' : '--dir'}, ${k}): ${MIB} MiB in ${PART_MIB} MiB parts, ${STREAMS} at once, mean of ${ROUNDS}: ` +
        `CPU per MiB of parts ${mean((x) => x.partsMs / MIB).toFixed(2)} ms, complete ${mean((x) => x.completeMs).toFixed(0)} ms\n`,
    );
  }
}
