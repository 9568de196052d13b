// Probe: the GCS emulator's (--discard) CPU per small upload for two request shapes: the bare loop's
// (name + md5Hash, whole resource answered) and ours (ifGenerationMatch=0, fields=, source metadata).
// npx tsx bench/probe/gcsShapes.ts [ours|bare] [count] ; PROBE_GCS_NODE_ARGS adds node flags (--cpu-prof ...).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'undici';
import { freePort, tsNodeArgs } from '../../test/stack/proc.js';
import { processCpuMs } from '../transfer/cpu.js';

const shape = process.argv[2] ?? 'ours';
const count = Number(process.argv[3] ?? 20000);
const port = await freePort();
const nodeArgs = (process.env.PROBE_GCS_NODE_ARGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, [...nodeArgs, ...tsNodeArgs(join(process.cwd(), 'test/stack/gcs/server.ts'), ['--port', String(port), '--discard'])], { stdio: 'inherit' });
const base = `http://127.0.0.1:${port}`;
for (;;) {
  try {
    if ((await fetch(`${base}/__stats`)).ok) break;
  } catch {
    /* not yet */
  }
  await new Promise((r) => setTimeout(r, 100));
}
await fetch(`${base}/storage/v1/b?project=p`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bkt-probe' }) });
const data = randomBytes(16384);
const md5 = createHash('md5').update(data).digest('base64');
const pool = new Pool(base, { connections: 32 });
const one = async (i: number): Promise<void> => {
  const name = `16384/s-${String(i).padStart(6, '0')}`;
  const meta = shape === 'ours'
    ? { name, metadata: { 'ott-source-etag': createHash('md5').update(data).digest('hex'), 'ott-source-last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'ott-verified-by': 'md5' }, contentType: 'application/octet-stream', md5Hash: md5 }
    : { name, md5Hash: md5 };
  const boundary = `b-${i}`;
  const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`), data, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  const q = shape === 'ours' ? '&ifGenerationMatch=0&fields=name,size,generation,md5Hash,crc32c' : '';
  const res = await pool.request({ path: `/upload/storage/v1/b/bkt-probe/o?uploadType=multipart${q}`, method: 'POST', headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': String(body.length) }, body });
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} ${await res.body.text()}`);
  await res.body.json();
};
let next = 0;
const worker = async (): Promise<void> => {
  while (next < count) await one(next++);
};
// warm-up, then the measured pass into other names
await Promise.all(Array.from({ length: 32 }, worker));
next = 0;
const c0 = processCpuMs(child.pid!)!;
const t = performance.now();
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < count) await one(count + next++);
}));
const ms = performance.now() - t;
await new Promise((r) => setTimeout(r, 300));
console.log(`${shape}: ${count} uploads in ${Math.round(ms)} ms, emulator CPU ${((processCpuMs(child.pid!)! - c0) / count * 1000).toFixed(1)} us per upload`);
await pool.close();
child.kill('SIGINT');
