// Pure units: naming, message packing and decoding, the retry classifier and backoff.
import { describe, expect, it } from 'vitest';
import { cdnPath, cdnUrl, decodeCdnPath, encodeSegment, gcsObjectName } from '../../src/common/naming.js';
import { decodeMessage, encodeMessage, objectsListMessageSchema, ObjectsPacker, maxEncodedBytes, type ObjectEntry, type ObjectsListMessage, type PackedMessage } from '../../src/common/messages.js';
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
  it('takes a key that needs no encoding as it is, and encodes every other exactly as segment by segment', () => {
    const segments = ['a', 'B9', '-_.~', '.', '..', '...', '.a', 'a.', '', ' ', '%', '+', '!', '*', 'é', '日本', '😀', 'x~y', 'a:b', '@'];
    const keys: string[] = [];
    for (const x of segments) for (const y of segments) for (const z of ['', '/', '/c', '/..', '/.']) keys.push(`data/${x}/${y}${z}`, `${x}${z}`);
    for (const k of keys) expect(cdnPath(k, naming)).toBe(k.split('/').map(encodeSegment).join('/'));
    expect(cdnPath('data/x-1_2.~/y', naming)).toBe('data/x-1_2.~/y');
  });
  it('applies replace_key_parts in order before encoding', () => {
    expect(cdnUrl('data/x y', { ...naming, replace_key_parts: { 'data/': 'media/' } })).toBe('https://d1.cloudfront.net/media/x%20y');
  });
});

describe('messages', () => {
  const obj = (i: number, keyLen = 10): ObjectEntry => ({ key: `d/${'k'.repeat(keyLen)}${i}`, size: i, etag: `"e${i}"`, last_modified: '2024-01-01T00:00:00Z' });
  function pack(n: number, keyLen?: number, maxBytes?: number): { messages: PackedMessage[]; decoded: ObjectsListMessage[] } {
    const packer = new ObjectsPacker('d/"q\u00e9/', 50, maxBytes);
    const messages: PackedMessage[] = [];
    for (let i = 0; i < n; i++) {
      const full = packer.add(obj(i, keyLen));
      if (full) messages.push(full);
    }
    const last = packer.flush();
    if (last) messages.push(last);
    expect(packer.flush()).toBeUndefined();
    const decoded = messages.map((m) => {
      const d = decodeMessage(objectsListMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      return d.message;
    });
    return { messages, decoded };
  }
  it('packs by key count and by encoded size, each message the exact encoding of its objects', () => {
    const byCount = pack(120);
    expect(byCount.messages.map((m) => m.objects)).toEqual([50, 50, 20]);
    expect(byCount.decoded.flatMap((m) => m.objects)).toEqual(Array.from({ length: 120 }, (_, i) => obj(i)));
    for (const [i, m] of byCount.messages.entries()) {
      expect(m.data.equals(encodeMessage(byCount.decoded[i]))).toBe(true);
      expect(byCount.decoded[i].dir_key).toBe('d/"q\u00e9/');
      expect(m.bytes).toBe(byCount.decoded[i].objects.reduce((a, o) => a + o.size, 0));
    }
    const bySize = pack(40, 1000, 10_000);
    for (const m of bySize.messages) expect(m.data.length).toBeLessThanOrEqual(10_000);
    // Packed full: every message but the last was closed because the next object would not fit.
    for (const [i, m] of bySize.messages.slice(0, -1).entries()) {
      expect(m.data.length + Buffer.byteLength(JSON.stringify(bySize.decoded[i + 1].objects[0])) + 1).toBeGreaterThan(10_000);
    }
    expect(bySize.messages.reduce((a, m) => a + m.objects, 0)).toBe(40);
    expect(bySize.messages.length).toBeGreaterThan(1);
    expect(pack(0).messages).toEqual([]);
  });
  it('packs keys that JSON escapes or encodes in several bytes exactly up to the limit', () => {
    const packer = new ObjectsPacker('d/', 10_000, 10_000);
    const out: PackedMessage[] = [];
    const objs = Array.from({ length: 60 }, (_, i) => ({ ...obj(i), key: `d/${'😀é"\\\u0001'.repeat(40 + (i % 7))}${i}` }));
    for (const o of objs) {
      const full = packer.add(o);
      if (full) out.push(full);
    }
    out.push(packer.flush()!);
    const decoded = out.map((m) => JSON.parse(m.data.toString('utf8')) as ObjectsListMessage);
    expect(decoded.flatMap((m) => m.objects)).toEqual(objs);
    expect(out.length).toBeGreaterThan(1);
    for (const m of out) expect(m.data.length).toBeLessThanOrEqual(10_000);
    // Packed full: every message but the last was closed because the next object would not fit.
    for (const [i, m] of out.slice(0, -1).entries()) {
      expect(m.data.length + Buffer.byteLength(JSON.stringify(decoded[i + 1].objects[0])) + 1).toBeGreaterThan(10_000);
    }
  });
  it('bounds the encoded size of an object of any key', () => {
    const keys = ['plain', '"quoted"\\back', '\u0001\u001f ctrl', 'é ü 中文 😀', '\ud800 lone', '\n\t\r', 'x'.repeat(1024)];
    for (const key of keys) {
      const o: ObjectEntry = { key, size: Number.MAX_SAFE_INTEGER, etag: '"d41d8cd98f00b204e9800998ecf8427e-10000"', last_modified: '2024-01-01T00:00:00.000Z', storage_class: 'GLACIER_IR' };
      expect(Buffer.byteLength(JSON.stringify(o)) + 1).toBeLessThanOrEqual(maxEncodedBytes(o));
      expect(Buffer.byteLength(JSON.stringify({ ...o, key: key.repeat(4) })) + 1).toBeLessThanOrEqual(maxEncodedBytes({ ...o, key: key.repeat(4) }));
    }
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
  it('waits for the gate before each retry (the fleet pacer), outside the budget, and not after the last failure', async () => {
    const events: string[] = [];
    let n = 0;
    const gate = (failure: Error): Promise<void> => {
      events.push(`gate ${failure.message}`);
      return new Promise((resolve) => setTimeout(resolve, 30));
    };
    const err = await withRetry(async () => {
      events.push(`try ${++n}`);
      throw Object.assign(new Error(`slow down ${n}`), { statusCode: 429 });
    }, { maxAttempts: 3, budgetMs: 2, baseDelayMs: 1, maxDelayMs: 1, gate }).catch((e) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    // 60 ms spent at the gate against a 2 ms budget: the gate's wait spends none of it.
    expect(events).toEqual(['try 1', 'gate slow down 1', 'try 2', 'gate slow down 2', 'try 3']);
  });
});
