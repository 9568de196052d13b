// Fault injection on the GCS emulator: each rule's effect as a real client sees it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Storage, type Bucket } from '@google-cloud/storage';
import { addFaults, clearFaults, listFaults } from '../faults.js';
import { uniqueName } from '../../helpers/names.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local', retryOptions: { maxRetryDelay: 1, totalTimeout: 60, retryDelayMultiplier: 1.1 } });
let bucket: Bucket;

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

async function mediaUpload(name: string, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  return fetch(`${endpoint}/upload/storage/v1/b/${bucket.name}/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', body });
}

beforeAll(async () => {
  [bucket] = await storage.createBucket(uniqueName('gcsf'));
});

/** This file's rules, listed by bucket (other files may program the same emulator at the same time: never see or clear theirs). */
async function ourRules(): Promise<Awaited<ReturnType<typeof listFaults>>> {
  return listFaults(endpoint, bucket.name);
}

afterEach(async () => {
  // Every rule a test programs is spent by that test: a leftover would mean the fault never fired.
  expect((await ourRules()).filter((r) => r.remaining > 0)).toEqual([]);
});

describe('GCS emulator fault injection', () => {
  it('answers 503 with a GCS error body to the next 2 uploads under a prefix, then serves', async () => {
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', prefix: 'flaky/' }, times: 2, action: { status: 503 } });
    const answers: Array<{ status: number; body: unknown }> = [];
    for (let i = 0; i < 3; i++) {
      const res = await mediaUpload('flaky/raw', Buffer.from('x'));
      answers.push({ status: res.status, body: await res.json() });
    }
    const refused = { status: 503, body: { error: { code: 503, errors: [{ reason: 'backendError' }] } } };
    expect(answers).toMatchObject([refused, refused, { status: 200, body: { name: 'flaky/raw', size: '1' } }]);
    expect((await ourRules()).find((r) => r.match?.prefix === 'flaky/')).toMatchObject({ hits: 2, remaining: 0 });
  });

  it('lets @google-cloud/storage retry a precondition-guarded upload through two 503s', async () => {
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', prefix: 'retry/' }, times: 2, action: { status: 503 } });
    await bucket.file('retry/obj').save('survived', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect((await bucket.file('retry/obj').download())[0].toString()).toBe('survived');
    expect((await ourRules()).find((r) => r.match?.prefix === 'retry/')?.hits).toBe(2);
  });

  it('surfaces a mid-body reset of an upload as a connection error and stores nothing', async () => {
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', prefix: 'reset/' }, action: { reset: 'mid-body' } });
    await expect(mediaUpload('reset/raw', randomBytes(4 * 1024 * 1024))).rejects.toThrow();
    expect((await bucket.file('reset/raw').exists())[0]).toBe(false);
  });

  it('resumes a chunked resumable upload whose chunk was reset mid-body, with the right bytes', async () => {
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', method: 'PUT', prefix: 'resume/' }, after: 1, action: { reset: 'mid-body' } });
    const data = randomBytes(3 * 1024 * 1024 + 5);
    await bucket.file('resume/obj').save(data, { resumable: true, chunkSize: 1024 * 1024, preconditionOpts: { ifGenerationMatch: 0 } });
    expect((await ourRules()).find((r) => r.match?.prefix === 'resume/')?.hits).toBe(1);
    const [meta] = await bucket.file('resume/obj').getMetadata();
    expect(meta.md5Hash).toBe(md5(data));
  });

  it('serves a corrupted download whose bytes no longer match the stored md5', async () => {
    const data = randomBytes(256 * 1024);
    await bucket.file('corrupt/obj').save(data, { resumable: false });
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'download', prefix: 'corrupt/' }, times: 2, action: { corrupt: true } });
    const res = await fetch(`${endpoint}/storage/v1/b/${bucket.name}/o/${encodeURIComponent('corrupt/obj')}?alt=media`);
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.length).toBe(data.length);
    expect(md5(got)).not.toBe(md5(data));
    expect(res.headers.get('x-goog-hash')).toContain(`md5=${md5(data)}`);
    // The client library's own validation catches it.
    await expect(bucket.file('corrupt/obj').download({ validation: 'md5' })).rejects.toThrow(/did not match/);
    expect(md5((await bucket.file('corrupt/obj').download())[0])).toBe(md5(data));
  });

  it('stores an upload with a flipped byte despite a correct X-Goog-Hash, reporting the stored bytes\' own md5 (storeCorrupt)', async () => {
    const data = randomBytes(10_000);
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'upload', prefix: 'store-corrupt/' }, action: { storeCorrupt: true } });
    const res = await fetch(`${endpoint}/upload/storage/v1/b/${bucket.name}/o?uploadType=media&name=store-corrupt/obj`, {
      method: 'POST',
      body: data,
      headers: { 'x-goog-hash': `md5=${md5(data)}` },
    });
    expect(res.status).toBe(200);
    const meta = (await res.json()) as { md5Hash: string; size: string };
    expect(meta.size).toBe(String(data.length));
    expect(meta.md5Hash).not.toBe(md5(data));
    const [stored] = await bucket.file('store-corrupt/obj').download();
    expect(md5(stored)).toBe(meta.md5Hash); // silently different bytes, consistently described
    expect(stored.equals(data)).toBe(false);
  });

  it('truncates a download short of its Content-Length', async () => {
    await bucket.file('trunc/obj').save(randomBytes(512 * 1024), { resumable: false });
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'download', prefix: 'trunc/' }, action: { truncate: true } });
    const res = await fetch(`${endpoint}/storage/v1/b/${bucket.name}/o/${encodeURIComponent('trunc/obj')}?alt=media`);
    expect(res.headers.get('content-length')).toBe(String(512 * 1024));
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('loses the response of a delete that happened (reset before-response)', async () => {
    await bucket.file('lost/obj').save('x', { resumable: false });
    await addFaults(endpoint, { match: { bucket: bucket.name, op: 'delete', prefix: 'lost/' }, action: { reset: 'before-response' } });
    await expect(fetch(`${endpoint}/storage/v1/b/${bucket.name}/o/${encodeURIComponent('lost/obj')}`, { method: 'DELETE' })).rejects.toThrow();
    expect((await bucket.file('lost/obj').exists())[0]).toBe(false);
  });

  it('injects a status on every operation, each op matched by its own name', async () => {
    await bucket.file('ops/src').save('source', { resumable: false });
    const o = (name: string): string => `${endpoint}/storage/v1/b/${bucket.name}/o/${encodeURIComponent(name)}`;
    const post = (url: string, body: unknown): RequestInit & { url: string } => ({ url, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    // [op, the object name (or list prefix) the rule matches, a request doing that op]
    const table: Array<[op: string, key: string | undefined, req: RequestInit & { url: string }]> = [
      ['metadata', 'ops/src', { url: o('ops/src') }],
      ['download', 'ops/src', { url: o('ops/src') + '?alt=media' }],
      ['list', 'ops/', { url: `${endpoint}/storage/v1/b/${bucket.name}/o?prefix=ops/` }],
      ['patch', 'ops/src', { url: o('ops/src'), method: 'PATCH', body: JSON.stringify({ metadata: { k: 'v' } }) }],
      ['rewrite', 'ops/copy', post(`${o('ops/src')}/rewriteTo/b/${bucket.name}/o/${encodeURIComponent('ops/copy')}`, {})],
      ['compose', 'ops/composed', post(`${o('ops/composed')}/compose`, { sourceObjects: [{ name: 'ops/src' }] })],
      ['bucket', undefined, { url: `${endpoint}/storage/v1/b/${bucket.name}` }],
      ['upload', 'ops/up', { url: `${endpoint}/upload/storage/v1/b/${bucket.name}/o?uploadType=media&name=ops/up`, method: 'POST', body: 'u' }],
      ['delete', 'ops/copy', { url: o('ops/copy'), method: 'DELETE' }],
    ];
    for (const [op, key, { url, ...init }] of table) {
      await addFaults(endpoint, { match: { bucket: bucket.name, op, ...(key ? { prefix: key } : {}) }, action: { status: 429, message: `slow down ${op}` } });
      const hit = await fetch(url, init);
      expect([op, hit.status]).toEqual([op, 429]);
      expect(await hit.json()).toMatchObject({ error: { code: 429, message: `slow down ${op}`, errors: [{ reason: 'rateLimitExceeded' }] } });
      const ok = await fetch(url, init);
      expect([op, ok.status]).toEqual([op, op === 'delete' ? 204 : 200]);
      await ok.arrayBuffer();
    }
  });

  it('lists and clears only the asked bucket\'s rules', async () => {
    const other = uniqueName('gcsf-other');
    // One request, two rules: the control API takes an array as the CDN fixture's does.
    const [otherId, ourId] = await addFaults(endpoint, [
      { match: { bucket: other, op: 'list' }, action: { delayMs: 1 } },
      { match: { bucket: bucket.name, op: 'list', prefix: 'listed/' }, action: { status: 503 } },
    ]);
    expect((await listFaults(endpoint, other)).map((r) => r.id)).toEqual([otherId]);
    // This file's spent rules from earlier tests are listed too; the other bucket's rule is not.
    const ours = async (): Promise<number[]> => (await ourRules()).filter((r) => r.id === ourId || r.id === otherId).map((r) => r.hits);
    expect(await ours()).toEqual([0]);
    expect((await fetch(`${endpoint}/storage/v1/b/${bucket.name}/o?prefix=listed/`)).status).toBe(503);
    expect(await ours()).toEqual([1]);
    await clearFaults(endpoint, other);
    expect(await listFaults(endpoint, other)).toEqual([]);
  });

  it('refuses malformed rules with 400 naming the problem', async () => {
    const res = await fetch(`${endpoint}/__faults`, { method: 'POST', body: JSON.stringify({ action: { explode: true } }) });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('unknown action');
  });
});
