// The shortAck fault: a resumable chunk's 308 acknowledges fewer bytes than the chunk carried and the
// session keeps only those, as real GCS may. Raw HTTP shows the wire; @google-cloud/storage shows that a
// real client resends from the acknowledged offset and the object still arrives whole.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Storage, type Bucket } from '@google-cloud/storage';
import { addFaults, clearFaults, listFaults } from '../faults.js';
import { uniqueName } from '../../helpers/names.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local', retryOptions: { maxRetryDelay: 1, retryDelayMultiplier: 1.1 } });
const KiB = 1024;
let bucket: Bucket;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

async function ourRules(): Promise<Awaited<ReturnType<typeof listFaults>>> {
  return (await listFaults(endpoint)).filter((r) => r.match?.bucket === bucket.name);
}

async function session(name: string): Promise<string> {
  const res = await fetch(`${endpoint}/upload/storage/v1/b/${bucket.name}/o?uploadType=resumable&name=${encodeURIComponent(name)}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  return res.headers.get('location')!;
}

function chunk(url: string, data: Buffer<ArrayBuffer>, from: number, to: number, total: number | '*'): Promise<Response> {
  return fetch(url, { method: 'PUT', body: data.subarray(from, to + 1), headers: { 'content-range': `bytes ${from}-${to}/${total}` } });
}

async function stored(name: string): Promise<Buffer> {
  return (await bucket.file(name).download())[0];
}

beforeAll(async () => {
  [bucket] = await storage.createBucket(uniqueName('gcsack'));
});

afterEach(async () => {
  expect((await ourRules()).filter((r) => r.remaining > 0)).toEqual([]);
});

describe('GCS emulator: resumable chunks acknowledged short', () => {
  it('keeps half of a chunk and says so in Range; the session goes on from there', async () => {
    const data = randomBytes(768 * KiB);
    const url = await session('raw/half');
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', method: 'PUT', prefix: 'raw/half' }, action: { shortAck: true } });
    let res = await chunk(url, data, 0, 512 * KiB - 1, '*');
    expect([res.status, res.headers.get('range')]).toEqual([308, `bytes=0-${256 * KiB - 1}`]);
    res = await fetch(url, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    expect([res.status, res.headers.get('range')]).toEqual([308, `bytes=0-${256 * KiB - 1}`]);
    // Resuming from an offset past the acknowledged one is refused: those bytes are not there.
    expect((await chunk(url, data, 512 * KiB, data.length - 1, data.length)).status).toBe(400);
    res = await chunk(url, data, 256 * KiB, data.length - 1, data.length);
    expect(res.status).toBe(200);
    expect(md5(await stored('raw/half'))).toBe(md5(data));
  });

  it('holds back the last dropBytes of a final chunk: 308 instead of the object, until the rest arrives', async () => {
    const data = randomBytes(300 * KiB + 7);
    const url = await session('raw/final');
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', method: 'PUT', prefix: 'raw/final' }, action: { shortAck: true, dropBytes: 1000 } });
    let res = await chunk(url, data, 0, data.length - 1, data.length);
    expect([res.status, res.headers.get('range')]).toEqual([308, `bytes=0-${data.length - 1001}`]);
    expect(await bucket.file('raw/final').exists()).toEqual([false]);
    res = await chunk(url, data, data.length - 1000, data.length - 1, data.length);
    expect(res.status).toBe(200);
    expect(md5(await stored('raw/final'))).toBe(md5(data));
  });

  it('an open-ended last chunk (bytes N-*/*) cut short does not end the upload', async () => {
    const data = randomBytes(100 * KiB);
    const url = await session('raw/open');
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', method: 'PUT', prefix: 'raw/open' }, action: { shortAck: true, dropBytes: 10 } });
    const first = await fetch(url, { method: 'PUT', body: data, headers: { 'content-range': 'bytes 0-*/*' } });
    expect([first.status, first.headers.get('range')]).toEqual([308, `bytes=0-${data.length - 11}`]);
    const rest = await fetch(url, { method: 'PUT', body: data.subarray(data.length - 10), headers: { 'content-range': `bytes ${data.length - 10}-*/*` } });
    expect(rest.status).toBe(200);
    expect(md5(await stored('raw/open'))).toBe(md5(data));
  });

  it('@google-cloud/storage (chunked resumable upload) resends from the acknowledged offset through three short acks', async () => {
    const data = randomBytes(2 * 1024 * KiB + 5);
    const match = { bucket: bucket.name, op: 'upload', method: 'PUT', prefix: 'client/' };
    // The first matching rule wins: the second one (a no-op) counts the chunk PUTs the first lets through.
    await addFaults(endpoint, [
      { match, after: 1, times: 3, action: { shortAck: true } },
      { match, times: 1000, action: { delayMs: 0 } },
    ]);
    await bucket.file('client/obj').save(data, { resumable: true, chunkSize: 256 * KiB, validation: 'crc32c' });
    const [short, counter] = (await ourRules()).filter((r) => r.match?.prefix === 'client/');
    expect(short).toMatchObject({ hits: 3, remaining: 0 });
    // 9 chunks carry the object once; the 3 x 128 KiB held back had to be sent again.
    expect(short.hits + counter.hits).toBeGreaterThanOrEqual(10);
    await clearFaults(endpoint, bucket.name);
    expect(md5(await stored('client/obj'))).toBe(md5(data));
  });
});
