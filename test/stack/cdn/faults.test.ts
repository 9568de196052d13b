// Fault injection on the CDN fixture (faults.ts), table-driven as the worker's retry tests will use it:
// each fault must be visible to a client exactly as the real failure would be.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { makeS3Client } from '../../helpers/s3.js';
import { uniqueName } from '../../helpers/names.js';
import { addFaults, clearFaults, listFaults } from '../faults.js';
import { cdnEndpoint, rawRequest } from './testing.js';

const s3 = makeS3Client();
const bucket = uniqueName('cdnfault');
const SIZE = 300 * 1024;
const body = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 7 + 3) % 256));
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const get = (key: string, opts?: Parameters<typeof rawRequest>[1]): ReturnType<typeof rawRequest> => rawRequest(`/${bucket}/${key}`, opts);

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const key of ['f/a', 'f/b', 'g/a']) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
});

afterEach(async () => {
  // Rules are matched and listed by this file's bucket, so other files' rules (the table is shared) are
  // neither seen nor touched; every rule here must have been spent by its test.
  const mine = await listFaults(cdnEndpoint(), bucket);
  expect(mine.filter((r) => r.remaining > 0)).toEqual([]);
});

describe('CDN fixture: fault injection', () => {
  it('answers 503 for the next 2 GETs under a prefix, then serves', async () => {
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket, prefix: 'f/' }, times: 2, action: { status: 503 } });
    expect((await get('g/a')).status).toBe(200);
    const first = await get('f/a');
    expect(first.status).toBe(503);
    expect(first.headers['x-cache']).toBe('Error from cloudfront');
    expect(first.body.toString()).toContain('The request could not be satisfied');
    expect((await get('f/b')).status).toBe(503);
    const ok = await get('f/a');
    expect(ok.status).toBe(200);
    expect(ok.body.equals(body)).toBe(true);
  });

  it('applies HEAD faults to HEAD only, after letting `after` requests through', async () => {
    await addFaults(cdnEndpoint(), { match: { op: 'head', bucket }, after: 1, action: { status: 500, message: 'injected' } });
    expect((await get('f/a', { method: 'HEAD' })).status).toBe(200);
    expect((await get('f/a')).status).toBe(200);
    expect((await get('f/a', { method: 'HEAD' })).status).toBe(500);
  });

  it('truncates: full Content-Length declared, half the body, then the connection closes', async () => {
    await addFaults(cdnEndpoint(), { match: { bucket, prefix: 'f/a' }, action: { truncate: true } });
    const r = await get('f/a');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(r.error).toBeDefined();
    expect(r.body.length).toBeLessThan(SIZE);
    expect(r.body.equals(body.subarray(0, r.body.length))).toBe(true);
  });

  it('corrupts: same length, one byte flipped halfway, different md5', async () => {
    await addFaults(cdnEndpoint(), { match: { bucket, prefix: 'f/b' }, action: { corrupt: true } });
    const r = await get('f/b');
    expect(r.status).toBe(200);
    expect(r.error).toBeUndefined();
    expect(r.body.length).toBe(SIZE);
    expect(md5(r.body)).not.toBe(md5(body));
    const diff = [...r.body].flatMap((b, i) => (b === body[i] ? [] : [i]));
    expect(diff).toEqual([SIZE / 2]);
    expect((await get('f/b')).body.equals(body)).toBe(true);
  });

  it('resets mid-body and before the response', async () => {
    await addFaults(cdnEndpoint(), [
      { match: { bucket, prefix: 'g/' }, action: { reset: 'mid-body' } },
      { match: { bucket, prefix: 'f/' }, action: { reset: 'before-response' } },
    ]);
    // Usually the viewer sees 200 and half the body before the reset; on a loaded machine the RST can
    // overtake unread bytes and the request fails outright. Either way the body never arrives whole.
    const mid = await get('g/a').catch((err: Error) => err);
    if (mid instanceof Error) {
      expect(mid.message).toMatch(/ECONNRESET|socket hang up/);
    } else {
      expect(mid.status).toBe(200);
      expect(mid.error).toBeDefined();
      expect(mid.body.length).toBeLessThan(SIZE);
    }
    await expect(get('f/a')).rejects.toThrow(/ECONNRESET|socket hang up/);
  });

  it('delays: a client that waits less than delayMs times out, the next request is served', async () => {
    await addFaults(cdnEndpoint(), { match: { bucket, prefix: 'f/a' }, action: { delayMs: 3000 } });
    await expect(get('f/a', { timeoutMs: 200 })).rejects.toThrow(/no response within 200 ms/);
    expect((await get('f/a')).status).toBe(200);
  });

  it('lists only the asked bucket\'s rules', async () => {
    const other = uniqueName('cdnfault-other');
    const [otherId, ourId] = await addFaults(cdnEndpoint(), [
      { match: { bucket: other }, action: { delayMs: 1 } },
      { match: { op: 'get', bucket, prefix: 'g/a' }, action: { status: 502 } },
    ]);
    expect((await listFaults(cdnEndpoint(), other)).map((r) => r.id)).toEqual([otherId]);
    // This file's spent rules from earlier tests are listed too; the other bucket's rule is not.
    const ours = async (): Promise<number[]> => (await listFaults(cdnEndpoint(), bucket)).filter((r) => r.id === ourId || r.id === otherId).map((r) => r.hits);
    expect(await ours()).toEqual([0]);
    expect((await get('g/a')).status).toBe(502);
    expect(await ours()).toEqual([1]);
    await clearFaults(cdnEndpoint(), other);
    expect(await listFaults(cdnEndpoint(), other)).toEqual([]);
  });

  it('serves a stale copy: another key\'s bytes and ETag in place of the asked one', async () => {
    const old = Buffer.from('the old version');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'stale/old-copy', Body: old }));
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket, prefix: 'f/a' }, action: { serveKey: 'stale/old-copy' } });
    const r = await get('f/a');
    expect(r.status).toBe(200);
    expect(r.body.equals(old)).toBe(true);
    expect(r.headers.etag).toBe(put.ETag);
    expect((await get('f/a')).body.equals(body)).toBe(true);
  });

  it('ignores Range: answers 200 with the whole object to a ranged GET, once', async () => {
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket, prefix: 'f/b' }, action: { ignoreRange: true } });
    const r = await get('f/b', { headers: { range: 'bytes=100-' } });
    expect(r.status).toBe(200);
    expect(r.body.equals(body)).toBe(true);
    const ranged = await get('f/b', { headers: { range: 'bytes=100-' } });
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(body.subarray(100))).toBe(true);
  });

  it('refuses a rule with an unknown action', async () => {
    await expect(addFaults(cdnEndpoint(), { match: { bucket }, action: { explode: true } as never })).rejects.toThrow(/400.*unknown action/);
  });
});
