// Pure units: naming, message packing and decoding, the retry classifier and backoff.
import { describe, expect, it } from 'vitest';
import { cdnPath, cdnUrl, decodeCdnPath, gcsObjectName } from '../../src/common/naming.js';
import { decodeMessage, encodeMessage, objectsListMessageSchema, packObjects, type ObjectEntry, type ObjectsListMessage } from '../../src/common/messages.js';
import { classify, TransferError } from '../../src/common/errors.js';
import { backoffMs, RetriesExhaustedError, withRetry } from '../../src/common/retry.js';

const naming = { s3_root_prefix: 'data/', gcs_root_prefix: 'copy/', cloudfront_url_host_pre: 'https://d1.cloudfront.net/', replace_key_parts: {} };

describe('naming', () => {
  const odd = ['data/space file.txt', 'data/plus+sign', 'data/pct%20x', 'data/hash#q?&=', 'data/unicodé/日本/😀', 'data/a//b', 'data/trailing.', 'data/./x', 'data/../y', "data/!'()*"];
  it('maps keys to GCS names under gcs_root_prefix, refusing keys outside the root', () => {
    expect(gcsObjectName('data/a/b.txt', naming)).toBe('copy/a/b.txt');
    expect(() => gcsObjectName('other/x', naming)).toThrow(/outside s3_root_prefix/);
  });
  it('percent-encodes every segment so every legal key round-trips through the CDN path', () => {
    for (const k of odd) {
      const p = cdnPath(k, naming);
      expect(p).not.toMatch(/[ #?+&%](?![0-9A-F]{2})/);
      expect(decodeCdnPath(p)).toBe(k);
    }
    expect(cdnUrl('data/a b', naming)).toBe('https://d1.cloudfront.net/data/a%20b');
    expect(cdnPath('data/./x', naming)).toBe('data/%2E/x');
  });
  it('applies replace_key_parts in order before encoding', () => {
    expect(cdnUrl('data/x y', { ...naming, replace_key_parts: { 'data/': 'media/' } })).toBe('https://d1.cloudfront.net/media/x%20y');
  });
});

describe('messages', () => {
  const obj = (i: number, keyLen = 10): ObjectEntry => ({ key: `d/${'k'.repeat(keyLen)}${i}`, size: i, etag: `"e${i}"`, last_modified: '2024-01-01T00:00:00Z' });
  async function* gen(n: number, keyLen?: number): AsyncGenerator<ObjectEntry> {
    for (let i = 0; i < n; i++) yield obj(i, keyLen);
  }
  it('packs by key count and by encoded size', async () => {
    const byCount = [];
    for await (const m of packObjects('d/', gen(120), 50)) byCount.push(m.objects.length);
    expect(byCount).toEqual([50, 50, 20]);
    const bySize = [];
    for await (const m of packObjects('d/', gen(40, 1000), 50, 10_000)) {
      expect(encodeMessage(m).length).toBeLessThanOrEqual(10_000);
      bySize.push(m.objects.length);
    }
    expect(bySize.reduce((a, b) => a + b)).toBe(40);
    expect(bySize.length).toBeGreaterThan(1);
  });
  it('decodes good messages and explains bad ones without throwing', () => {
    const m: ObjectsListMessage = { v: 1, kind: 'objects', dir_key: 'd/', objects: [obj(1)] };
    expect(decodeMessage(objectsListMessageSchema, encodeMessage(m))).toEqual({ ok: true, message: m });
    expect(decodeMessage(objectsListMessageSchema, Buffer.from('{oops'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(decodeMessage(objectsListMessageSchema, Buffer.from('{"v":2,"kind":"objects"}'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^schema: v/) });
    expect(decodeMessage(objectsListMessageSchema, Buffer.from(JSON.stringify({ ...m, objects: [{ ...obj(1), size: -1 }] })))).toMatchObject({ ok: false, reason: expect.stringMatching(/objects\.0\.size/) });
  });
});

describe('retry policy', () => {
  it('classifies by behaviour', () => {
    expect(classify(Object.assign(new Error('x'), { code: 'ECONNRESET' })).retryable).toBe(true);
    expect(classify(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })).retryable).toBe(true);
    expect(classify(Object.assign(new Error('x'), { statusCode: 429 })).retryable).toBe(true);
    expect(classify(Object.assign(new Error('x'), { statusCode: 403 }))).toMatchObject({ retryable: false, reason: 'HTTP 403: x' });
    expect(classify(Object.assign(new Error('x'), { code: 14, details: 'unavailable' })).retryable).toBe(true);
    expect(classify(Object.assign(new Error('x'), { code: 5, details: 'not found' })).retryable).toBe(false);
    expect(classify(Object.assign(new Error('x'), { code: 'ER_LOCK_DEADLOCK' })).retryable).toBe(true);
    expect(classify(new TransferError('md5 mismatch', true)).retryable).toBe(true);
    expect(classify('a string').retryable).toBe(false);
    expect(classify(new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'EPIPE' }) })).retryable).toBe(true);
  });
  it('backs off with jitter under a cap', () => {
    expect(backoffMs(1, 100, 1000, () => 0.999)).toBeLessThan(100);
    expect(backoffMs(10, 100, 1000, () => 0.999)).toBeLessThan(1000);
    expect(backoffMs(3, 100, 1000, () => 0)).toBe(0);
  });
  it('retries retryable failures, stops at once on others, and reports attempts', async () => {
    let n = 0;
    const v = await withRetry(async () => {
      if (++n < 3) throw Object.assign(new Error('flaky'), { statusCode: 503 });
      return 'ok';
    }, { maxAttempts: 5, budgetMs: 10_000, baseDelayMs: 1 });
    expect([v, n]).toEqual(['ok', 3]);
    n = 0;
    const err = await withRetry(async () => {
      n++;
      throw Object.assign(new Error('denied'), { statusCode: 403 });
    }, { maxAttempts: 5, budgetMs: 10_000, baseDelayMs: 1 }).catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect([n, err.attempts]).toEqual([1, 1]);
    expect(err.message).toMatch(/HTTP 403: denied \(not retryable\)/);
  });
});
