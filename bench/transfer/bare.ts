// The bare limit: what raw undici can do on the same servers at the same concurrency, with none of the
// worker's machinery (no Pub/Sub, no MySQL counters, no retries, no skip checks, no metadata carried
// over). Per object: GET the signed synthetic URL -> MD5 while streaming -> GCS upload in the same shape
// the worker uses, so the servers do the same work for both:
// - up to singleRequestMaxBytes (8 MiB): one `uploadType=multipart` POST with md5Hash from the listing
//   and ifGenerationMatch=0 (GCS checks the MD5), the object read whole and sent in one write, as the
//   worker sends small objects (streamed through, the head, each chunk and the tail were writes of their own);
// - larger: a resumable session, 8 MiB chunks, one chunk in flight while the next fills, the final chunk
//   carrying `X-Goog-Hash: md5=...`.
// The local MD5 is compared with the listing's ETag at the end of each object, as the worker does.
// With `verify: false` it is the unverified limit: plain URLs (the caller lifts the CDN's signature
// check), no MD5 computed, none sent; GCS (the emulator) still hashes what it receives, as GCS does.
// The difference between the two is what verification costs. Runs in a process of its own (child.ts).
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Pool, type Dispatcher } from 'undici';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import type { ObjectEntry } from '../../src/common/messages.js';
import { cpuWindow } from './cpu.js';

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
  /** false: no signature, no MD5 (default true). */
  verify?: boolean;
}

/** The query string of a wildcard custom-policy signature over `<cdnBase>*`, valid for an hour: one RSA signature per run. */
export function signedQuery(cdnBase: string, keyPairId: string, privateKeyPem: string): string {
  const expires = Math.floor(Date.now() / 1000) + 3600;
  const policy = JSON.stringify({ Statement: [{ Resource: `${cdnBase}*`, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }] });
  const signed = getSignedUrl({ url: cdnBase, keyPairId, privateKey: privateKeyPem, policy });
  return signed.slice(signed.indexOf('?'));
}

export async function expectOk(res: Dispatcher.ResponseData, ok: number[], what: string): Promise<void> {
  if (ok.includes(res.statusCode)) return;
  throw new Error(`bare ${what}: HTTP ${res.statusCode} ${(await res.body.text()).slice(0, 300)}`);
}

/**
 * Runs `work(i)` for i in [0, count) on at most `lanes` lanes; the first failure rejects. `onHalf` is called
 * once, when half of the items (rounded up) have finished, with the number still to finish.
 */
export async function inLanes(count: number, lanes: number, work: (i: number) => Promise<void>, onHalf?: (remaining: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const half = Math.ceil(count / 2);
  const lane = async (): Promise<void> => {
    while (next < count) {
      await work(next++);
      if (++done === half) onHalf?.(count - half);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
}

/** Elapsed ms of `fn` and this process's CPU ms meanwhile. */
/**
 * BENCH_HEAP_SAMPLES=PREFIX: a sampling heap profile of the timed work's allocations, collected ones included
 * (the garbage the collector spends its time on), written to PREFIX.<pid>.heapprofile.
 */
async function heapSampling(prefix: string): Promise<() => Promise<void>> {
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await s.post('HeapProfiler.stopSampling');
    writeFileSync(`${prefix}.${process.pid}.heapprofile`, JSON.stringify(profile));
    s.disconnect();
  };
}

/** The second half of a run: from the moment half its objects were done to its end (start-up and warm-up behind it). */
export interface SecondHalf {
  objects: number;
  ms: number;
  cpuMs: number;
}

/** A loop's clock, its own process's CPU and the machine's busy CPU meanwhile (ms). */
export interface Timed {
  ms: number;
  cpuMs: number;
  machineCpuMs: number;
  secondHalf?: SecondHalf;
}

const cpuMsOf = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/** Times fn; fn calls halfway(remaining) once, when half its objects are done (inLanes' onHalf): the rest are the second half. */
export async function timed(fn: (halfway: (remaining: number) => void) => Promise<void>): Promise<Timed> {
  const heap = process.env.BENCH_HEAP_SAMPLES ? await heapSampling(process.env.BENCH_HEAP_SAMPLES) : undefined;
  const t = performance.now();
  const window = cpuWindow({});
  const cpu = process.cpuUsage();
  let half: { at: number; cpuMs: number; objects: number } | undefined;
  await fn((remaining) => void (half ??= { at: performance.now(), cpuMs: cpuMsOf(process.cpuUsage(cpu)), objects: remaining }));
  const cpuMs = cpuMsOf(process.cpuUsage(cpu));
  const end = performance.now();
  const out = { ms: end - t, cpuMs, machineCpuMs: window().machine, secondHalf: half && { objects: half.objects, ms: end - half.at, cpuMs: cpuMs - half.cpuMs } };
  await heap?.();
  return out;
}

/** One object's source bytes and its verification: `hash` each chunk, `check` at the end (base64 MD5, or undefined unverified). */
interface Source {
  e: ObjectEntry;
  body: AsyncIterable<unknown>;
  hash(b: Buffer): void;
  check(): string | undefined;
  expectedMd5Hex: string;
}

interface Dest {
  gcs: Pool;
  uploadPath(type: string): string;
  verify: boolean;
  chunkBytes: number;
}

/** Multipart boundaries: a random part per run and a counter (a random boundary per request asks the system for entropy per object). */
const BOUNDARY = `bare-${randomBytes(12).toString('hex')}-`;
let boundaries = 0;

/**
 * One `uploadType=multipart` POST, md5Hash in its metadata when verifying: the object read whole into the
 * request's buffer (between the metadata part and the closing boundary), checked, then sent in one write.
 */
async function uploadSmall(d: Dest, s: Source): Promise<void> {
  const boundary = BOUNDARY + (boundaries++).toString(36);
  const meta = { name: s.e.key, ...(d.verify ? { md5Hash: Buffer.from(s.expectedMd5Hex, 'hex').toString('base64') } : {}) };
  const head = `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(meta)}\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const body = Buffer.allocUnsafe(head.length + s.e.size + tail.length);
  let at = body.write(head, 0, 'latin1');
  for await (const chunk of s.body) {
    const b = chunk as Buffer;
    if (at + b.length > head.length + s.e.size) throw new Error(`bare ${s.e.key}: more than ${s.e.size} bytes`);
    s.hash(b);
    b.copy(body, at);
    at += b.length;
  }
  if (at !== head.length + s.e.size) throw new Error(`bare ${s.e.key}: ${at - head.length} bytes, expected ${s.e.size}`);
  s.check();
  body.write(tail, at, 'latin1');
  const res = await d.gcs.request({
    path: d.uploadPath('multipart'),
    method: 'POST',
    headers: { 'content-type': `multipart/related; boundary=${boundary}`, 'content-length': String(body.length) },
    body,
  });
  await expectOk(res, [200], `upload ${s.e.key}`);
  await res.body.dump();
}

/** A resumable session in chunkBytes chunks, one in flight while the next fills; the last carries the MD5. */
async function uploadResumable(d: Dest, s: Source): Promise<void> {
  const { e } = s;
  const start = await d.gcs.request({
    path: d.uploadPath('resumable'),
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-length': String(e.size) },
    body: JSON.stringify({ name: e.key }),
  });
  await expectOk(start, [200, 201], `resumable start ${e.key}`);
  await start.body.dump();
  const session = new URL(String(start.headers.location));
  const put = async (data: Buffer, offset: number, md5?: string): Promise<void> => {
    const res = await d.gcs.request({
      path: session.pathname + session.search,
      method: 'PUT',
      headers: { 'content-range': `bytes ${offset}-${offset + data.length - 1}/${e.size}`, 'content-length': String(data.length), ...(md5 ? { 'x-goog-hash': `md5=${md5}` } : {}) },
      body: data,
    });
    await expectOk(res, offset + data.length === e.size ? [200, 201] : [308], `chunk ${e.key}@${offset}`);
    await res.body.dump();
  };
  let buf = Buffer.allocUnsafe(Math.min(d.chunkBytes, e.size));
  let spare = Buffer.allocUnsafe(buf.length);
  let fill = 0;
  let offset = 0;
  let pending: Promise<void> | undefined;
  for await (const chunk of s.body) {
    const b = chunk as Buffer;
    s.hash(b);
    for (let off = 0; off < b.length; ) {
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
  await put(buf.subarray(0, fill), offset, s.check());
}

/** Copies every object (throws on the first failure): elapsed ms and this process's CPU ms meanwhile. */
export async function runBare(o: BareOptions, objects: ObjectEntry[]): Promise<Timed> {
  const single = o.singleRequestMaxBytes ?? 8 * MiB;
  const verify = o.verify !== false;
  const cdnUrl = new URL(o.cdnBase);
  const query = verify ? signedQuery(o.cdnBase, o.keyPairId, o.privateKeyPem) : '';
  const cdn = new Pool(cdnUrl.origin, { connections: o.concurrency, keepAliveTimeout: 30_000 });
  const gcs = new Pool(o.gcs, { connections: o.concurrency, keepAliveTimeout: 30_000 });
  const dest: Dest = { gcs, verify, chunkBytes: o.chunkBytes ?? 8 * MiB, uploadPath: (type) => `/upload/storage/v1/b/${encodeURIComponent(o.bucket)}/o?uploadType=${type}&ifGenerationMatch=0` };
  const copyOne = async (e: ObjectEntry): Promise<void> => {
    const src = await cdn.request({ path: `${cdnUrl.pathname}${e.key}${query}`, method: 'GET', headers: { 'accept-encoding': 'identity' } });
    await expectOk(src, [200], `GET ${e.key}`);
    const md5 = createHash('md5');
    const expectedMd5Hex = e.etag.replace(/"/g, '');
    const s: Source = {
      e,
      body: src.body,
      expectedMd5Hex,
      hash: (b) => void (verify && md5.update(b)),
      check: () => {
        if (!verify) return undefined;
        const hex = md5.digest('hex');
        if (hex !== expectedMd5Hex) throw new Error(`bare ${e.key}: md5 ${hex}, listing says ${expectedMd5Hex}`);
        return Buffer.from(hex, 'hex').toString('base64');
      },
    };
    await (e.size <= single ? uploadSmall(dest, s) : uploadResumable(dest, s));
  };
  try {
    return await timed((halfway) => inLanes(objects.length, o.concurrency, (i) => copyOne(objects[i]), halfway));
  } finally {
    await Promise.all([cdn.close(), gcs.close()]);
  }
}
