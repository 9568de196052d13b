// The GCS emulator refuses the object names GCS refuses (CR or LF, `.` and `..`, over 1024 bytes of
// UTF-8, a `.well-known/acme-challenge/` prefix) on every path that creates an object, and resumable
// sessions declaring more than 5 TiB, with GCS's status, reason and error body; nothing is stored.
// Through @google-cloud/storage, raw HTTP (the client's URL handling folds `.`/`..` path segments, so copy
// and compose destinations named that way can only be sent raw) and gcloud storage.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage, type Bucket } from '@google-cloud/storage';
import { uniqueName } from '../../helpers/names.js';
import { gcloudStorage } from './gcloudCli.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local' });
let bucket: Bucket;
const TiB = 1024 ** 4;

const BAD: Record<string, [string, RegExp]> = {
  'carriage return': ['bad/a\rb', /Disallowed unicode characters present in object name/],
  'line feed': ['bad/a\nb', /Disallowed unicode characters present in object name/],
  dot: ['.', /not allowed/],
  'dot dot': ['..', /not allowed/],
  '1025 bytes': ['n'.repeat(1025), /maximum object length is 1024 characters, but got a name with 1025/],
  '1026 UTF-8 bytes in 513 characters': ['é'.repeat(513), /but got a name with 1026/],
  'acme challenge prefix': ['.well-known/acme-challenge/token', /\.well-known\/acme-challenge\//],
};

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http keeps the path byte for byte (global fetch would fold `.`/`..` segments). */
function raw(method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<Raw> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GCS's error body: `{ error: { code, message, errors: [{ reason, domain }] } }`. */
function expectGcsError(r: Raw, status: number, reason: string, message: RegExp): void {
  expect(r.status, r.body).toBe(status);
  const err = (JSON.parse(r.body) as { error: { code: number; message: string; errors: Array<{ reason: string; domain: string }> } }).error;
  expect(err.code).toBe(status);
  expect(err.message).toMatch(message);
  expect(err.errors[0]).toMatchObject({ reason, domain: 'global' });
}

const seg = (name: string): string => encodeURIComponent(name).replace(/\./g, '%2E');

/**
 * Status and GCS message of a client error: multipart uploads throw an ApiError (`code`, `message`), a
 * resumable session start throws a GaxiosError (`status`, GCS's body in `response.data`).
 */
function clientError(err: unknown): { status?: number; message?: string } {
  const e = err as { code?: number; status?: number; message?: string; response?: { data?: { error?: { message?: string } } } };
  if (e?.response?.data?.error) return { status: e.status, message: e.response.data.error.message };
  return { status: e?.code, message: e?.message };
}

beforeAll(async () => {
  [bucket] = await storage.createBucket(uniqueName('gcsnm'));
  await bucket.file('src/a').save('a', { resumable: false });
});

describe('GCS emulator: names and sizes GCS refuses', () => {
  for (const [what, [name, message]] of Object.entries(BAD)) {
    it(`refuses a name with ${what} on media, multipart and resumable uploads and as a copy or compose destination`, async () => {
      const q = `name=${encodeURIComponent(name)}`;
      expectGcsError(await raw('POST', `/upload/storage/v1/b/${bucket.name}/o?uploadType=media&${q}`, { 'content-type': 'text/plain' }, 'x'), 400, 'invalid', message);
      // @google-cloud/storage: resumable: false is a multipart upload, true starts a resumable session.
      for (const resumable of [false, true]) {
        const err = await bucket.file(name).save('x', { resumable }).then(() => undefined, (e: unknown) => e);
        expect(clientError(err), `resumable: ${resumable}`).toEqual({ status: 400, message: expect.stringMatching(message) });
      }
      const dest = `/b/${bucket.name}/o/${seg(name)}`;
      expectGcsError(await raw('POST', `/storage/v1/b/${bucket.name}/o/src%2Fa/rewriteTo${dest}`, {}, '{}'), 400, 'invalid', message);
      expectGcsError(await raw('POST', `/storage/v1/b/${bucket.name}/o/src%2Fa/copyTo${dest}`, {}, '{}'), 400, 'invalid', message);
      expectGcsError(await raw('POST', `/storage/v1${dest}/compose`, {}, JSON.stringify({ sourceObjects: [{ name: 'src/a' }] })), 400, 'invalid', message);
      const [files] = await bucket.getFiles();
      expect(files.map((f) => f.name)).toEqual(['src/a']);
    });
  }

  it('takes what GCS takes: exactly 1024 bytes, `...`, dots inside names, an acme-challenge path that is not a prefix', async () => {
    const good = ['g'.repeat(1024), '...', 'a/./b', 'a/../b', '.well-known/acme-challenge', 'x/.well-known/acme-challenge/y'];
    for (const name of good) await bucket.file(name).save(`body of ${name}`, { resumable: false });
    const [copy] = await bucket.file('src/a').copy(bucket.file('h'.repeat(1024)));
    expect((await copy.download())[0].toString()).toBe('a');
    for (const name of good) expect((await bucket.file(name).download())[0].toString()).toBe(`body of ${name}`);
    await expect(bucket.combine(['src/a'], 'c'.repeat(1025))).rejects.toMatchObject({ code: 400 });
  });

  it('refuses a resumable session declaring more than 5 TiB (413 uploadTooLarge), at the start and in a chunk', async () => {
    const start = (bytes: number): Promise<Raw> =>
      raw('POST', `/upload/storage/v1/b/${bucket.name}/o?uploadType=resumable&name=huge`, { 'x-upload-content-length': String(bytes) }, '{}');
    expectGcsError(await start(5 * TiB + 1), 413, 'uploadTooLarge', /5 TiB/);
    const ok = await start(5 * TiB);
    expect(ok.status).toBe(200);
    const session = new URL(String(ok.headers.location));
    expectGcsError(await raw('PUT', session.pathname + session.search, { 'content-range': `bytes */${5 * TiB + 1}` }), 413, 'uploadTooLarge', /5 TiB/);
    const [files] = await bucket.getFiles({ prefix: 'huge' });
    expect(files).toEqual([]);
  });

  it('gcloud storage cp reports GCS\'s refusal of a 1025-byte name', async () => {
    const work = mkdtempSync(join(tmpdir(), 'ott-gcsnm-'));
    try {
      writeFileSync(join(work, 'f.txt'), 'x');
      const r = await gcloudStorage(['cp', join(work, 'f.txt'), `gs://${bucket.name}/${'n'.repeat(1025)}`], endpoint, work);
      expect(r.ok).toBe(false);
      expect(r.stderr).toMatch(/maximum object length is 1024/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
