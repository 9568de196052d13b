// The bare limit: what raw undici can do on the same servers at the same concurrency, with none of the
// worker's machinery (no Pub/Sub, no MySQL counters, no retries, no skip checks, no metadata carried
// over). Per object: GET the signed synthetic URL -> MD5 while streaming -> GCS upload in the same shape
// the worker uses, so the servers do the same work for both:
// - up to singleRequestMaxBytes (8 MiB): one `uploadType=multipart` POST with md5Hash from the listing
//   and ifGenerationMatch=0 (GCS checks the MD5);
// - larger: a resumable session, 8 MiB chunks, one chunk in flight while the next fills, the final chunk
//   carrying `X-Goog-Hash: md5=...`.
// The local MD5 is compared with the listing's ETag at the end of each object, as the worker does.
// It runs in a node process of its own (runBareProcess), as the worker does: in the orchestrator's
// process, next to its Pub/Sub client and bookkeeping, it measured up to 1.7x more CPU per MiB.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import type { ObjectEntry } from '../../src/common/messages.js';

const MiB = 1024 * 1024;

export interface BareOptions {
  /** `<cdn>/__synthetic/` */
  cdnBase: string;
  gcs: string;
  bucket: string;
  keyPairId: string;
  privateKeyPem: string;
  concurrency: number;
  singleRequestMaxBytes?: number;
  chunkBytes?: number;
}

async function expectOk(res: Dispatcher.ResponseData, ok: number[], what: string): Promise<void> {
  if (ok.includes(res.statusCode)) return;
  throw new Error(`bare ${what}: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
}

/** Copies every object (throws on the first failure): elapsed ms and this process's CPU ms meanwhile. */
export async function runBare(o: BareOptions, objects: ObjectEntry[]): Promise<{ ms: number; cpuMs: number }> {
  const single = o.singleRequestMaxBytes ?? 8 * MiB;
  const chunkBytes = o.chunkBytes ?? 8 * MiB;
  const cdnUrl = new URL(o.cdnBase);
  const expires = Math.floor(Date.now() / 1000) + 3600;
  const policy = JSON.stringify({ Statement: [{ Resource: `${o.cdnBase}*`, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }] });
  const signed = getSignedUrl({ url: o.cdnBase, keyPairId: o.keyPairId, privateKey: o.privateKeyPem, policy });
  const query = signed.slice(signed.indexOf('?'));
  const cdn = new Pool(cdnUrl.origin, { connections: o.concurrency, keepAliveTimeout: 30_000 });
  const gcs = new Pool(o.gcs, { connections: o.concurrency, keepAliveTimeout: 30_000 });
  const uploadPath = (type: string): string => `/upload/storage/v1/b/${encodeURIComponent(o.bucket)}/o?uploadType=${type}&ifGenerationMatch=0`;

  const copyOne = async (e: ObjectEntry): Promise<void> => {
    const src = await cdn.request({ path: `${cdnUrl.pathname}${e.key}${query}`, method: 'GET', headers: { 'accept-encoding': 'identity' } });
    await expectOk(src, [200], `GET ${e.key}`);
    const md5 = createHash('md5');
    const expected = e.etag.replace(/"/g, '');
    const check = (): string => {
      const hex = md5.digest('hex');
      if (hex !== expected) throw new Error(`bare ${e.key}: md5 ${hex}, listing says ${expected}`);
      return Buffer.from(hex, 'hex').toString('base64');
    };
    if (e.size <= single) {
      const boundary = `bare-${randomBytes(12).toString('hex')}`;
      const meta = { name: e.key, md5Hash: Buffer.from(expected, 'hex').toString('base64') };
      const head = Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`);
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      async function* parts(): AsyncGenerator<Buffer> {
        yield head;
        for await (const b of src.body) {
          md5.update(b as Buffer);
          yield b as Buffer;
        }
        check();
        yield tail;
      }
      const res = await gcs.request({
        path: uploadPath('multipart'),
        method: 'POST',
        headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': String(head.length + e.size + tail.length) },
        body: Readable.from(parts(), { objectMode: false }),
      });
      await expectOk(res, [200], `upload ${e.key}`);
      await res.body.dump();
      return;
    }
    const start = await gcs.request({
      path: uploadPath('resumable'),
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-length': String(e.size) },
      body: JSON.stringify({ name: e.key }),
    });
    await expectOk(start, [200, 201], `resumable start ${e.key}`);
    await start.body.dump();
    const session = new URL(String(start.headers.location));
    const sessionPath = session.pathname + session.search;
    const put = async (data: Buffer, offset: number, hash?: string): Promise<void> => {
      const last = offset + data.length === e.size;
      const res = await gcs.request({
        path: sessionPath,
        method: 'PUT',
        headers: { 'content-range': `bytes ${offset}-${offset + data.length - 1}/${e.size}`, 'content-length': String(data.length), ...(hash ? { 'x-goog-hash': `md5=${hash}` } : {}) },
        body: data,
      });
      await expectOk(res, last ? [200, 201] : [308], `chunk ${e.key}@${offset}`);
      await res.body.dump();
    };
    let buf = Buffer.allocUnsafe(Math.min(chunkBytes, e.size));
    let spare = Buffer.allocUnsafe(buf.length);
    let fill = 0;
    let offset = 0;
    let pending: Promise<void> | undefined;
    for await (const chunk of src.body) {
      const b = chunk as Buffer;
      md5.update(b);
      let off = 0;
      while (off < b.length) {
        const n = Math.min(buf.length - fill, b.length - off);
        b.copy(buf, fill, off, off + n);
        fill += n;
        off += n;
        if (fill === buf.length && offset + fill < e.size) {
          await pending;
          pending = put(buf.subarray(0, fill), offset);
          pending.catch(() => undefined);
          offset += fill;
          [buf, spare] = [spare, buf];
          fill = 0;
        }
      }
    }
    await pending;
    await put(buf.subarray(0, fill), offset, check());
  };

  const t = performance.now();
  const cpu = process.cpuUsage();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < objects.length) await copyOne(objects[next++]);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.concurrency, objects.length) }, lane));
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - t, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    await Promise.all([cdn.close(), gcs.close()]);
  }
}

/**
 * Runs the bare loop in a fresh node process of its own, as ours runs in its own: neither side shares the
 * orchestrator's heap, timers or Pub/Sub client. The child reads its job from a JSON file and prints
 * `{ ms, cpuMs }`; its CPU is its own process's.
 */
export async function runBareProcess(o: BareOptions, objects: ObjectEntry[], jobFile: string): Promise<{ ms: number; cpuMs: number }> {
  writeFileSync(jobFile, JSON.stringify({ o, objects }));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`bare loop process exited ${code}:\n${err}`);
  return JSON.parse(out.trim().split('\n').pop()!) as { ms: number; cpuMs: number };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { o: BareOptions; objects: ObjectEntry[] };
  process.stdout.write(`${JSON.stringify(await runBare(job.o, job.objects))}\n`);
}
