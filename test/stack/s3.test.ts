// The patched s3rver, through @aws-sdk/client-s3: each test names the stock-s3rver bug it guards against.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';

const s3 = makeS3Client();
const bucket = uniqueName('s3t');
const MiB = 1024 * 1024;

async function put(key: string, body: string | Buffer, extra: Record<string, unknown> = {}): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

async function getText(key: string, range?: string): Promise<string> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return r.Body!.transformToString();
}

async function listAll(params: { Prefix?: string; Delimiter?: string; MaxKeys?: number }): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, ...params }));
    pages++;
    keys.push(...(r.Contents ?? []).map((c) => c.Key!));
    prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
    // S3 answers at most MaxKeys entries a page (1000 when not asked), prefixes counted.
    expect((r.Contents?.length ?? 0) + (r.CommonPrefixes?.length ?? 0)).toBeLessThanOrEqual(params.MaxKeys ?? 1000);
    expect(r.KeyCount).toBe((r.Contents?.length ?? 0) + (r.CommonPrefixes?.length ?? 0));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return { keys, prefixes, pages };
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('patched s3rver', () => {
  it('(1) paginates ListObjectsV2 with continuation tokens (stock: DES token, 500 on Node 20)', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `page/k${String(i).padStart(2, '0')}`);
    for (const k of keys) await put(k, 'x');
    const all = await listAll({ Prefix: 'page/', MaxKeys: 10 });
    expect(all.keys).toEqual(keys);
    expect(all.pages).toBe(3);
  });

  it('(2) gives multipart objects the ETag md5(part md5s)-N everywhere, and serves parts by number', async () => {
    const body = Buffer.alloc(12 * MiB + 5, 7);
    for (let i = 0; i < body.length; i += 4096) body[i] = i % 251;
    const up = new Upload({ client: s3, params: { Bucket: bucket, Key: 'mp/obj.bin', Body: Readable.from([body]) }, partSize: 5 * MiB, queueSize: 1 });
    const done = await up.done();
    const parts = [body.subarray(0, 5 * MiB), body.subarray(5 * MiB, 10 * MiB), body.subarray(10 * MiB)];
    const want = `"${createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex')}-3"`;
    expect(done.ETag).toBe(want);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp/obj.bin' }));
    expect(head.ETag).toBe(want);
    expect(head.ContentLength).toBe(body.length);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'mp/' }));
    expect(listed.Contents?.[0].ETag).toBe(want);
    // What the transfer worker needs to verify a multipart ETag: the part size and count.
    const p1 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp/obj.bin', PartNumber: 1 }));
    expect(p1.ContentLength).toBe(5 * MiB);
    expect(p1.PartsCount).toBe(3);
    const p3 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp/obj.bin', PartNumber: 3 }));
    expect(p3.ContentRange).toBe(`bytes ${10 * MiB}-${body.length - 1}/${body.length}`);
    const p3body = Buffer.from(await p3.Body!.transformToByteArray());
    expect(p3body.equals(parts[2])).toBe(true);
    // A single-part object has one part: the whole object, with no parts count.
    await put('mp/single.txt', 'hello');
    const s1 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp/single.txt', PartNumber: 1 }));
    expect(s1.ContentLength).toBe(5);
    expect(s1.PartsCount).toBeUndefined();
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'mp/obj.bin', PartNumber: 4 }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 416 } });
  });

  it('(3) lists a folder that holds only subfolders as a common prefix', async () => {
    await put('tree/only-subs/a/x', '1');
    await put('tree/only-subs/b/y', '2');
    await put('tree/file', '3');
    const r = await listAll({ Prefix: 'tree/', Delimiter: '/' });
    expect(r.prefixes).toEqual(['tree/only-subs/']);
    expect(r.keys).toEqual(['tree/file']);
  });

  it('(4) counts common prefixes towards MaxKeys and pages through them', async () => {
    for (let i = 0; i < 7; i++) await put(`dirs/d${i}/obj`, 'x');
    await put('dirs/zz-file', 'x');
    const r = await listAll({ Prefix: 'dirs/', Delimiter: '/', MaxKeys: 3 });
    expect(r.prefixes).toEqual(Array.from({ length: 7 }, (_, i) => `dirs/d${i}/`));
    expect(r.keys).toEqual(['dirs/zz-file']);
    expect(r.pages).toBe(3);
  });

  it('(5) serves suffix ranges bytes=-N', async () => {
    await put('range/r.txt', '0123456789');
    expect(await getText('range/r.txt', 'bytes=-3')).toBe('789');
    expect(await getText('range/r.txt', 'bytes=2-4')).toBe('234');
    expect(await getText('range/r.txt', 'bytes=-20')).toBe('0123456789');
  });

  it('(6) rejects a wrong Content-MD5 with BadDigest and stores nothing', async () => {
    const wrong = createHash('md5').update('something else').digest('base64');
    await expect(put('md5/bad.txt', 'payload', { ContentMD5: wrong })).rejects.toMatchObject({ name: 'BadDigest' });
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'md5/bad.txt' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    const right = createHash('md5').update('payload').digest('base64');
    await put('md5/good.txt', 'payload', { ContentMD5: right });
    expect(await getText('md5/good.txt')).toBe('payload');
  });

  it('(7) stores the object bytes, not the aws-chunked framing, of a streamed upload', async () => {
    // The SDK's default checksum mode sends a streamed body aws-chunked with a trailing checksum.
    const { S3Client } = await import('@aws-sdk/client-s3');
    const chunky = new S3Client({
      endpoint: process.env.OTT_S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const body = Buffer.from('streamed body '.repeat(5000));
    await chunky.send(new PutObjectCommand({ Bucket: bucket, Key: 'chunked/s.txt', Body: Readable.from([body.subarray(0, 30000), body.subarray(30000)]), ContentLength: body.length }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'chunked/s.txt' }));
    expect(got.ContentLength).toBe(body.length);
    expect(got.ContentEncoding ?? '').not.toContain('aws-chunked');
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('(8, 9) takes every legal key: `//`, 300-byte segments, 1024-byte keys, odd characters, case', async () => {
    const odd = [
      'odd/a//b.txt',
      'odd//leading',
      `odd/${'s'.repeat(300)}/x`,
      `odd/${'k'.repeat(1020)}`,
      'odd/space file.txt',
      'odd/plus+sign',
      'odd/percent%20x',
      'odd/hash#q?amp&=',
      'odd/unicodé-日本語-😀',
      'odd/trailing.',
      'odd/Case',
      'odd/case',
    ];
    expect(Buffer.byteLength(odd[3])).toBe(1024);
    for (const k of odd) await put(k, `body of ${k}`);
    for (const k of odd) expect(await getText(k)).toBe(`body of ${k}`);
    const listed = await listAll({ Prefix: 'odd/' });
    // S3 order is UTF-8 byte order.
    const sorted = [...odd].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed.keys).toEqual(sorted);
    const top = await listAll({ Prefix: 'odd/', Delimiter: '/' });
    expect(top.prefixes).toEqual(['odd//', 'odd/a/', `odd/${'s'.repeat(300)}/`]);
  });

  it('(10) keeps folder markers (keys ending in `/`, as the S3 console makes them) exactly as written', async () => {
    for (const k of ['mark/folder/', 'mark/folder/inner.txt', 'mark/two//']) await put(k, k.endsWith('/') ? '' : 'inner');
    expect((await listAll({ Prefix: 'mark/' })).keys).toEqual(['mark/folder/', 'mark/folder/inner.txt', 'mark/two//']);
    expect(await getText('mark/folder/')).toBe('');
    expect(await getText('mark/folder/inner.txt')).toBe('inner');
  });

  it('keeps metadata and storage class for the publisher and the CDN', async () => {
    await put('meta/m.txt', 'x', { ContentType: 'text/plain', CacheControl: 'max-age=60', Metadata: { owner: 'team-a' }, StorageClass: 'STANDARD_IA' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'meta/m.txt' }));
    expect(head).toMatchObject({ ContentType: 'text/plain', CacheControl: 'max-age=60', Metadata: { owner: 'team-a' } });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'meta/' }));
    expect(listed.Contents?.[0].StorageClass).toBe('STANDARD_IA');
  });
});
