// The per-connection bandwidth cap, on a CDN fixture of this file's own (the cap is global to an instance,
// and other files share the stack's). Bounds are on bytes: pacing guarantees that by any time a connection
// has been sent at most rate * elapsed + one slice, so that ceiling is exact; the floors are loose, to hold
// on a loaded machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { StartedService } from '../index.js';
import { makeS3Client } from '../../helpers/s3.js';
import { uniqueName } from '../../helpers/names.js';
import { clearThrottle, getThrottle, setThrottle } from './client.js';
import { startCdn } from './start.js';
import { SYNTHETIC_BUCKET, syntheticBytes } from './synthetic.js';

const KiB = 1024;
const RATE = 512 * KiB;
/** What the fixture may send at once: one slice, 1/20 s worth. */
const slice = (rate: number): number => Math.floor(rate / 20);
const ceiling = (rate: number, elapsedMs: number): number => (rate * elapsedMs) / 1000 + slice(rate);

let svc: StartedService;
let base: string;
let root: string;
const s3 = makeS3Client();
const bucket = uniqueName('cdncap');
const object = randomBytes(600 * KiB);

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  bytes: number;
  elapsedMs: number;
}

/** GET over a connection of its own; with windowMs, cut off after that long and report what arrived. */
function get(path: string, opts: { windowMs?: number; range?: string } = {}): Promise<Got> {
  const { hostname, port } = new URL(base);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, agent: false, headers: opts.range ? { range: opts.range } : {} }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes, elapsedMs: performance.now() - t0 });
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (opts.windowMs === undefined) chunks.push(c);
      });
      res.on('end', done);
      res.on('close', done);
      if (opts.windowMs !== undefined) setTimeout(() => res.destroy(), opts.windowMs);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ott-cdn-cap-'));
  svc = await startCdn({ dir: root, logDir: root, env: { OTT_S3_ENDPOINT: process.env.OTT_S3_ENDPOINT! } }, { bytesPerSecondPerConnection: RATE });
  base = svc.env.OTT_CDN_ENDPOINT;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: object }));
});

afterAll(async () => {
  await svc?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('CDN fixture: per-connection bandwidth cap', () => {
  it('paces one connection to the rate given at start: a body of 1.5 s worth takes at least that long, bytes intact', async () => {
    expect(await getThrottle(base)).toBe(RATE);
    const size = 768 * KiB;
    const r = await get(`/${SYNTHETIC_BUCKET}/${size}/paced.bin`);
    expect(r.status).toBe(200);
    expect(r.body.equals(syntheticBytes(size))).toBe(true);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(((size - slice(RATE)) * 1000) / RATE);
  });

  it('caps each connection, not the sum: two connections together move about twice what one does', async () => {
    const path = `/${SYNTHETIC_BUCKET}/${64 * 1024 * KiB}/window.bin`;
    const one = await get(path, { windowMs: 2000 });
    expect(one.bytes).toBeLessThanOrEqual(ceiling(RATE, one.elapsedMs));
    expect(one.bytes).toBeGreaterThan(0.5 * RATE * (one.elapsedMs / 1000));
    const pair = await Promise.all([get(path, { windowMs: 2000 }), get(path, { windowMs: 2000 })]);
    for (const p of pair) expect(p.bytes).toBeLessThanOrEqual(ceiling(RATE, p.elapsedMs));
    const total = pair[0].bytes + pair[1].bytes;
    const elapsedMs = Math.max(pair[0].elapsedMs, pair[1].elapsedMs);
    // More than any single capped connection could carry in that time, and about two connections' worth.
    expect(total).toBeGreaterThan(ceiling(RATE, elapsedMs));
    expect(total).toBeGreaterThan(1.5 * RATE * (elapsedMs / 1000));
  });

  it('serves parallel ranged GETs (206) under the cap, reassembling to the object: synthetic origin and S3 pass-through', async () => {
    const size = 1024 * KiB + 17;
    const cuts = [0, 300_000, 600_000, 900_000, size];
    const synth = await Promise.all(cuts.slice(0, -1).map((a, i) => get(`/${SYNTHETIC_BUCKET}/${size}/ranged.bin`, { range: `bytes=${a}-${cuts[i + 1] - 1}` })));
    for (const [i, r] of synth.entries()) expect([r.status, r.headers['content-range']]).toEqual([206, `bytes ${cuts[i]}-${cuts[i + 1] - 1}/${size}`]);
    expect(Buffer.concat(synth.map((r) => r.body)).equals(syntheticBytes(size))).toBe(true);

    const half = object.length / 2;
    const passed = await Promise.all([`bytes=0-${half - 1}`, `bytes=${half}-${object.length - 1}`].map((range) => get(`/${bucket}/big.bin`, { range })));
    expect(passed.map((r) => [r.status, r.headers['content-range']])).toEqual([
      [206, `bytes 0-${half - 1}/${object.length}`],
      [206, `bytes ${half}-${object.length - 1}/${object.length}`],
    ]);
    expect(Buffer.concat(passed.map((r) => r.body)).equals(object)).toBe(true);
  });

  it('takes a new cap and lifts it through /__throttle, and refuses a bad value naming it', async () => {
    const low = 64 * KiB;
    await setThrottle(base, low);
    expect(await getThrottle(base)).toBe(low);
    const capped = await get(`/${bucket}/big.bin`, { windowMs: 1000 });
    expect(capped.bytes).toBeLessThanOrEqual(ceiling(low, capped.elapsedMs));
    await clearThrottle(base);
    expect(await getThrottle(base)).toBeNull();
    const free = await get(`/${bucket}/big.bin`, { windowMs: 5000 });
    expect(free.bytes).toBe(object.length);
    // The whole 600 KiB arrived faster than the lifted cap would have allowed.
    expect(free.bytes).toBeGreaterThan(ceiling(low, free.elapsedMs));
    await expect(setThrottle(base, 0)).rejects.toThrow(/400.*bytesPerSecondPerConnection must be a whole number of bytes from 1, got 0/);
    await setThrottle(base, RATE);
  });
});
