// Discard mode (benchmarks): bytes are received and hashed, hashes still checked, nothing kept but
// metadata; /__stats counts what arrived, and can wait until a count of objects has arrived.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRC32C } from '@google-cloud/storage';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import type { StartedService } from '../index.js';
import { startGcs } from './start.js';
import { gcsS3Client, md5Base64 as partMd5, PART_MIN } from './xmlTesting.js';

let svc: StartedService;
let base: string;
let root: string;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ott-gcs-discard-'));
  svc = await startGcs({ dir: root, logDir: root, env: {} }, { discard: true });
  base = svc.env.OTT_GCS_ENDPOINT;
  const res = await fetch(`${base}/storage/v1/b?project=ott-local`, { method: 'POST', body: JSON.stringify({ name: 'bench' }) });
  expect(res.status).toBe(200);
});

afterAll(async () => {
  await svc?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('GCS emulator in discard mode', () => {
  it('counts objects and bytes, keeps hashes, checks a declared md5, and says clearly that bytes are gone', async () => {
    const before = await json(await fetch(`${base}/__stats`));
    const bodies = [randomBytes(100_000), randomBytes(1), Buffer.alloc(0), randomBytes(2 * 1024 * 1024)];
    for (const [i, body] of bodies.entries()) {
      const res = await fetch(`${base}/upload/storage/v1/b/bench/o?uploadType=media&name=o${i}`, { method: 'POST', body, headers: { 'x-goog-hash': `md5=${md5(body)}` } });
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ size: String(body.length), md5Hash: md5(body) });
    }
    const bad = await fetch(`${base}/upload/storage/v1/b/bench/o?uploadType=media&name=bad`, { method: 'POST', body: 'abc', headers: { 'x-goog-hash': `md5=${md5(Buffer.from('abd'))}` } });
    expect(bad.status).toBe(400);
    expect((await json(await fetch(`${base}/storage/v1/b/bench/o/bad`))).error).toMatchObject({ code: 404 });

    const after = await json(await fetch(`${base}/__stats`));
    const total = bodies.reduce((n, b) => n + b.length, 0);
    expect(Number(after.objects) - Number(before.objects)).toBe(bodies.length);
    expect(Number(after.bytesReceived) - Number(before.bytesReceived)).toBe(total);

    const meta = await json(await fetch(`${base}/storage/v1/b/bench/o/o3`));
    expect(meta).toMatchObject({ size: String(bodies[3].length), md5Hash: md5(bodies[3]) });
    const media = await fetch(`${base}/storage/v1/b/bench/o/o3?alt=media`);
    expect(media.status).toBe(404);
    expect(await media.text()).toContain('--discard');
  });

  it('answers /__stats?objects_at_least=N once N objects are live, or at wait_ms with what there is', async () => {
    const now = Number((await json(await fetch(`${base}/__stats`))).objects);
    // Nothing arrives: answered at the deadline with the count as it stands (no hang, no error).
    expect((await json(await fetch(`${base}/__stats?objects_at_least=${now + 1}&wait_ms=300`))).objects).toBe(now);
    // Two waiters for different counts: each answers when its count is reached (an emulator that did not
    // wait would answer both with the old count), the other keeps waiting.
    const first = fetch(`${base}/__stats?objects_at_least=${now + 1}&wait_ms=30000`).then(json);
    const second = fetch(`${base}/__stats?objects_at_least=${now + 2}&wait_ms=30000`).then(json);
    let secondAnswered = false;
    void second.then(() => (secondAnswered = true));
    await new Promise((r) => setTimeout(r, 100)); // both requests are waiting in the emulator
    expect((await fetch(`${base}/upload/storage/v1/b/bench/o?uploadType=media&name=wait1`, { method: 'POST', body: 'a' })).status).toBe(200);
    expect((await first).objects).toBe(now + 1);
    expect(secondAnswered).toBe(false);
    expect((await fetch(`${base}/upload/storage/v1/b/bench/o?uploadType=media&name=wait2`, { method: 'POST', body: 'b' })).status).toBe(200);
    expect((await second).objects).toBe(now + 2);
    // Reached already: answered at once.
    expect((await json(await fetch(`${base}/__stats?objects_at_least=${now}&wait_ms=30000`))).objects).toBe(now + 2);
    for (const bad of ['objects_at_least=x', 'objects_at_least=1&wait_ms=-1', 'objects_at_least=1&wait_ms=60001']) {
      const res = await fetch(`${base}/__stats?${bad}`);
      expect(res.status).toBe(400);
      expect((await json(res)).error).toMatchObject({ code: 400 });
    }
  });

  it('composes from metadata alone: size and CRC32C of the concatenation', async () => {
    const parts = [randomBytes(70_000), randomBytes(3)];
    for (const [i, body] of parts.entries()) {
      expect((await fetch(`${base}/upload/storage/v1/b/bench/o?uploadType=media&name=part${i}`, { method: 'POST', body })).status).toBe(200);
    }
    const res = await fetch(`${base}/storage/v1/b/bench/o/whole/compose`, { method: 'POST', body: JSON.stringify({ sourceObjects: [{ name: 'part0' }, { name: 'part1' }] }) });
    expect(res.status).toBe(200);
    const crc = new CRC32C();
    crc.update(Buffer.concat(parts));
    const meta = await json(res);
    expect(meta).toMatchObject({ size: '70003', crc32c: crc.toString(), componentCount: 2 });
    expect(meta.md5Hash).toBeUndefined();
  });

  it('completes an XML multipart upload from the parts\' hashes alone: size and combined CRC32C, no MD5', async () => {
    const s3 = gcsS3Client(base);
    const parts = [randomBytes(PART_MIN), randomBytes(PART_MIN + 7), randomBytes(3)];
    const before = await json(await fetch(`${base}/__stats`));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bench', Key: 'mpu' }));
    const done = [];
    for (const [i, Body] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket: 'bench', Key: 'mpu', UploadId, PartNumber: i + 1, Body, ContentMD5: partMd5(Body) }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'bench', Key: 'mpu', UploadId, MultipartUpload: { Parts: done } }));
    const whole = Buffer.concat(parts);
    const crc = new CRC32C();
    crc.update(whole);
    const meta = await json(await fetch(`${base}/storage/v1/b/bench/o/mpu`));
    expect(meta).toMatchObject({ size: String(whole.length), crc32c: crc.toString(), componentCount: 3 });
    expect(meta.md5Hash).toBeUndefined();
    const after = await json(await fetch(`${base}/__stats`));
    expect([Number(after.parts) - Number(before.parts), Number(after.partBytes) - Number(before.partBytes)]).toEqual([3, whole.length]);
    expect(Number(after.bytesReceived) - Number(before.bytesReceived)).toBe(whole.length);
  });
});
