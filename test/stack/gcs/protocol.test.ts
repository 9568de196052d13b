// The JSON API's wire details, by raw HTTP: what the clients rely on without our tests of them noticing.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { uniqueName } from '../../helpers/names.js';

const base = process.env.OTT_GCS_ENDPOINT!;
const bucket = uniqueName('gcsp');
const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('base64');
const obj = (name: string, q = ''): string => `${base}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}${q}`;

async function put(name: string, body: string | Uint8Array<ArrayBuffer>): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', body });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function startSession(name: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${base}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}`, { method: 'POST', body: JSON.stringify(metadata), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('');
  return res.headers.get('location')!;
}

beforeAll(async () => {
  const res = await fetch(`${base}/storage/v1/b?project=ott-local`, { method: 'POST', body: JSON.stringify({ name: bucket }) });
  expect(res.status).toBe(200);
});

describe('GCS emulator wire protocol', () => {
  it('ifGenerationMatch=0 is decided at commit: of uploads racing for one name, exactly one wins, the rest get 412', async () => {
    // Small bodies sent at once finish together: the race window between the check and the commit.
    for (let round = 0; round < 10; round++) {
      const name = `race/once-${round}`;
      const url = `${base}/upload/storage/v1/b/${bucket}/o?uploadType=media&ifGenerationMatch=0&name=${encodeURIComponent(name)}`;
      const bodies = Array.from({ length: 16 }, () => randomBytes(6000));
      const statuses = await Promise.all(bodies.map((body) => fetch(url, { method: 'POST', body }).then(async (r) => (await r.arrayBuffer(), r.status))));
      expect([round, statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 412).length]).toEqual([round, 1, 15]);
      const meta = (await (await fetch(obj(name))).json()) as { md5Hash: string };
      expect(meta.md5Hash).toBe(md5(bodies[statuses.indexOf(200)]));
    }
  });

  it('runs a chunked resumable session: 308 + Range, status queries, resent bytes skipped', async () => {
    const data = randomBytes(600 * 1024);
    const url = await startSession('res/chunked');
    const chunk = (from: number, to: number, total: string): Promise<Response> =>
      fetch(url, { method: 'PUT', body: data.subarray(from, to + 1), headers: { 'content-range': `bytes ${from}-${to}/${total}` } });
    let res = await chunk(0, 262143, '*');
    expect(res.status).toBe(308);
    expect(res.headers.get('range')).toBe('bytes=0-262143');
    res = await fetch(url, { method: 'PUT', headers: { 'content-range': 'bytes */*' } });
    expect([res.status, res.headers.get('range')]).toEqual([308, 'bytes=0-262143']);
    // A retry that resends bytes the server already has: only the new ones count.
    res = await chunk(131072, 524287, '*');
    expect(res.headers.get('range')).toBe('bytes=0-524287');
    res = await chunk(524288, data.length - 1, String(data.length));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ size: String(data.length), md5Hash: md5(data) });
    res = await fetch(url, { method: 'PUT', headers: { 'content-range': `bytes */${data.length}` } });
    expect(res.status).toBe(200);
    expect(((await fetch(obj('res/chunked', '?alt=media')).then((r) => r.arrayBuffer())) as ArrayBuffer).byteLength).toBe(data.length);
  });

  it('survives a chunk aborted mid-body and its session cancelled at once (nothing stored, still serving)', async () => {
    const url = await startSession('res/cancelled');
    const u = new URL(url);
    // A chunk PUT that dies halfway, the way a client gives up on a slow chunk, then cancels the session.
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'PUT', headers: { 'content-range': 'bytes 0-524287/524288', 'content-length': 524288 } });
    const ended = new Promise<void>((resolve) => req.on('error', () => resolve()).on('close', () => resolve()));
    req.write(randomBytes(262144));
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(499);
    await ended;
    expect((await fetch(url, { method: 'PUT', body: 'x', headers: { 'content-range': 'bytes 0-0/1' } })).status).toBe(404);
    expect((await fetch(obj('res/cancelled'))).status).toBe(404);
    expect((await put('res/after-cancel', 'still alive')).size).toBe('11');
  });

  it('rejects a resumable upload whose final X-Goog-Hash or session md5 is wrong, storing nothing', async () => {
    let url = await startSession('res/badhash');
    let res = await fetch(url, { method: 'PUT', body: 'hello', headers: { 'content-range': 'bytes 0-4/5', 'x-goog-hash': `md5=${md5('hellp')}` } });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("doesn't match calculated MD5");
    url = await startSession('res/badhash', { md5Hash: md5('hellp') });
    res = await fetch(url, { method: 'PUT', body: 'hello', headers: { 'content-range': 'bytes 0-4/5' } });
    expect(res.status).toBe(400);
    expect((await fetch(obj('res/badhash'))).status).toBe(404);
  });

  it('parses multipart bodies with LF line endings and a media part without Content-Type', async () => {
    const body = `--b1\nContent-Type: application/json\n\n${JSON.stringify({ name: 'mp/lf', metadata: { k: 'v' } })}\n--b1\n\nline1\nline2\n\n--b1--\n`;
    let res = await fetch(`${base}/upload/storage/v1/b/${bucket}/o?uploadType=multipart`, { method: 'POST', body, headers: { 'content-type': 'multipart/related; boundary=b1' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'mp/lf', size: '12', md5Hash: md5('line1\nline2\n'), metadata: { k: 'v' } });
    const crlf = `--b2\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ name: 'mp/bad', md5Hash: md5('x') })}\r\n--b2\r\nContent-Type: text/plain\r\n\r\ny\r\n--b2--`;
    res = await fetch(`${base}/upload/storage/v1/b/${bucket}/o?uploadType=multipart`, { method: 'POST', body: crlf, headers: { 'content-type': 'multipart/related; boundary="b2"' } });
    expect(res.status).toBe(400);
    expect((await fetch(obj('mp/bad'))).status).toBe(404);
  });

  it('serves ranges (206, suffix, 416), HEAD, and read preconditions', async () => {
    const meta = await put('rng/obj', '0123456789');
    let res = await fetch(obj('rng/obj', '?alt=media'), { headers: { range: 'bytes=-3' } });
    expect([res.status, res.headers.get('content-range'), await res.text()]).toEqual([206, 'bytes 7-9/10', '789']);
    res = await fetch(obj('rng/obj', '?alt=media'), { headers: { range: 'bytes=10-' } });
    expect([res.status, res.headers.get('content-range')]).toEqual([416, 'bytes */10']);
    await res.arrayBuffer();
    res = await fetch(obj('rng/obj', '?alt=media'), { method: 'HEAD' });
    expect([res.status, res.headers.get('content-length'), res.headers.get('x-goog-generation')]).toEqual([200, '10', meta.generation]);
    res = await fetch(obj('rng/obj', '?alt=media&ifGenerationMatch=1'));
    expect(res.status).toBe(412);
    expect(await res.json()).toMatchObject({ error: { code: 412, errors: [{ reason: 'conditionNotMet' }] } });
    res = await fetch(obj('rng/obj', `?alt=media&ifGenerationNotMatch=${String(meta.generation)}`));
    expect(res.status).toBe(304);
  });

  it('lists with startOffset/endOffset, includeTrailingDelimiter, and pages counting prefixes', async () => {
    for (const n of ['l/a', 'l/b', 'l/c/', 'l/c/1', 'l/d/1', 'l/e']) await put(n, 'x');
    const list = async (q: string): Promise<{ items?: Array<{ name: string }>; prefixes?: string[]; nextPageToken?: string }> =>
      (await fetch(`${base}/storage/v1/b/${bucket}/o?${q}`)).json() as never;
    expect((await list('prefix=l/&startOffset=l/b&endOffset=l/d')).items?.map((i) => i.name)).toEqual(['l/b', 'l/c/', 'l/c/1']);
    const trailing = await list('prefix=l/&delimiter=/&includeTrailingDelimiter=true');
    expect(trailing.items?.map((i) => i.name)).toEqual(['l/a', 'l/b', 'l/c/', 'l/e']);
    expect(trailing.prefixes).toEqual(['l/c/', 'l/d/']);
    const seen: string[] = [];
    let token = '';
    for (let pages = 0; pages < 10; pages++) {
      const page = await list(`prefix=l/&delimiter=/&maxResults=2${token ? `&pageToken=${token}` : ''}`);
      const n = (page.items?.length ?? 0) + (page.prefixes?.length ?? 0);
      expect(n).toBeLessThanOrEqual(2);
      seen.push(...(page.items ?? []).map((i) => i.name), ...(page.prefixes ?? []));
      if (!page.nextPageToken) break;
      token = encodeURIComponent(page.nextPageToken);
    }
    expect(seen.sort()).toEqual(['l/a', 'l/b', 'l/c/', 'l/d/', 'l/e']);
  });

  it('answers with the fields a request names (fields=): uploads, reads, lists; a malformed selection is a 400', async () => {
    const body = randomBytes(1000);
    const up = await fetch(`${base}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=fields/one&fields=name,size,md5Hash,metadata`, { method: 'POST', body });
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ name: 'fields/one', size: '1000', md5Hash: md5(body) });
    await put('fields/two', 'xy');
    const patched = await fetch(obj('fields/two', '?fields=generation,metadata/k'), { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { k: 'v', other: 'w' } }) });
    expect(Object.keys((await patched.json()) as object).sort()).toEqual(['generation', 'metadata']);
    expect(await (await fetch(obj('fields/two', '?fields=metadata(k),contentType'))).json()).toEqual({ metadata: { k: 'v' }, contentType: expect.any(String) });
    const listed = (await (await fetch(`${base}/storage/v1/b/${bucket}/o?prefix=fields/&fields=items(name,size),nextPageToken`)).json()) as Record<string, unknown>;
    expect(listed).toEqual({ items: [{ name: 'fields/one', size: '1000' }, { name: 'fields/two', size: '2' }] });
    expect(Object.keys((await (await fetch(obj('fields/one', '?fields=*'))).json()) as object)).toContain('selfLink');
    for (const bad of ['items(name', 'name,,size', 'a)']) expect((await fetch(obj('fields/one', `?fields=${encodeURIComponent(bad)}`))).status).toBe(400);
    // Errors keep their shape whatever the selection.
    const missing = await fetch(obj('fields/none', '?fields=name'));
    expect([missing.status, ((await missing.json()) as { error?: { code?: number } }).error?.code]).toEqual([404, 404]);
  });

  it('answers storageLayout, refuses deleting a non-empty bucket, and 404s a missing one', async () => {
    const layout = await fetch(`${base}/storage/v1/b/${bucket}/storageLayout`);
    expect(await layout.json()).toMatchObject({ kind: 'storage#storageLayout', bucket });
    expect((await fetch(`${base}/storage/v1/b/${bucket}`, { method: 'DELETE' })).status).toBe(409);
    const missing = await fetch(`${base}/storage/v1/b/${bucket}-nope/o`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 404, errors: [{ reason: 'notFound', domain: 'global' }] } });
  });
});
