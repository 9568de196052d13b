// The fixture as an S3 proxy: bytes, ranges and the headers our worker verifies against pass through
// untouched, S3's errors pass through as CloudFront passes them, and odd keys survive cdnPath's encoding.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { makeS3Client } from '../../helpers/s3.js';
import { uniqueName } from '../../helpers/names.js';
import { cdnPath } from '../../../src/common/naming.js';
import { rawRequest } from './testing.js';

const s3 = makeS3Client();
const bucket = uniqueName('cdnpass');
const MiB = 1024 * 1024;
const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const path = (key: string): string => `/${bucket}/${cdnPath(key, { replace_key_parts: {} })}`;
const ODD_KEYS = [
  'odd/with space.txt',
  'odd/plus+sign',
  'odd/100%',
  'odd/100%25',
  'odd/hash#tag',
  'odd/what?x=1&y',
  "odd/!'()*",
  'odd/ünïcödé/日本語.bin',
  'odd//double//slash',
  'odd/trailing.',
  'odd/trailing..',
  'odd/./dot',
  'odd/../dotdot',
  'odd/emoji-🙂',
];

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'plain.bin',
      Body: body,
      ContentType: 'application/x-test',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="p.bin"',
      ContentLanguage: 'en',
      Metadata: { origin: 'unit', 'mixed-case': 'Value' },
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gz.txt', Body: Buffer.from('not really gzip'), ContentEncoding: 'gzip', ContentType: 'text/plain' }));
  for (const key of ODD_KEYS) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));
});

describe('CDN fixture: S3 pass-through', () => {
  it('passes bytes and headers through, adding CloudFront headers', async () => {
    const r = await rawRequest(path('plain.bin'));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain.bin' }));
    expect(r.status).toBe(200);
    expect(r.body.equals(body)).toBe(true);
    expect(r.headers.etag).toBe(`"${md5(body)}"`);
    expect(r.headers['content-length']).toBe(String(body.length));
    expect(r.headers['content-type']).toBe('application/x-test');
    expect(r.headers['cache-control']).toBe('max-age=60');
    expect(r.headers['content-disposition']).toBe('attachment; filename="p.bin"');
    expect(r.headers['content-language']).toBe('en');
    expect(r.headers['last-modified']).toBe(head.LastModified!.toUTCString());
    expect(r.headers['x-amz-meta-origin']).toBe('unit');
    expect(r.headers['x-amz-meta-mixed-case']).toBe('Value');
    expect(r.headers['x-cache']).toBe('Miss from cloudfront');
    expect(r.headers.via).toMatch(/^1\.1 \S+\.cloudfront\.net \(CloudFront\)$/);
    expect(r.headers['x-amz-cf-id']).toMatch(/^\S{20,}$/);
  });

  it('never decodes a Content-Encoding body', async () => {
    const r = await rawRequest(path('gz.txt'), { headers: { 'accept-encoding': 'gzip' } });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.body.toString()).toBe('not really gzip');
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await rawRequest(path('plain.bin'), { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(body.length));
    expect(r.headers.etag).toBe(`"${md5(body)}"`);
    expect(r.body.length).toBe(0);
  });

  it('serves ranges (206 with Content-Range) and refuses unsatisfiable ones (416)', async () => {
    const r = await rawRequest(path('plain.bin'), { headers: { range: 'bytes=10-19' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 10-19/${body.length}`);
    expect(r.body.equals(body.subarray(10, 20))).toBe(true);
    const suffix = await rawRequest(path('plain.bin'), { headers: { range: 'bytes=-5' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(body.subarray(body.length - 5))).toBe(true);
    const bad = await rawRequest(path('plain.bin'), { headers: { range: `bytes=${body.length + 10}-` } });
    expect(bad.status).toBe(416);
    expect(bad.body.toString()).toContain('InvalidRange');
  });

  it('passes S3 404 (NoSuchKey XML) through as CloudFront does', async () => {
    const r = await rawRequest(path('missing/key'));
    expect(r.status).toBe(404);
    expect(r.headers['x-cache']).toBe('Error from cloudfront');
    expect(r.body.toString()).toContain('<Code>NoSuchKey</Code>');
    const noBucket = await rawRequest(`/${uniqueName('nobucket')}/k`);
    expect(noBucket.status).toBe(404);
    expect(noBucket.body.toString()).toContain('<Code>NoSuchBucket</Code>');
  });

  it('serves multipart ETags (md5 of part md5s, -N) unchanged', async () => {
    const big = Buffer.alloc(5 * MiB + 3, 1);
    big[5 * MiB] = 9;
    const up = new Upload({ client: s3, params: { Bucket: bucket, Key: 'mp.bin', Body: Readable.from([big]) }, partSize: 5 * MiB, queueSize: 1 });
    const done = await up.done();
    const partMd5s = [big.subarray(0, 5 * MiB), big.subarray(5 * MiB)].map((p) => createHash('md5').update(p).digest());
    const want = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-2"`;
    expect(done.ETag).toBe(want);
    const r = await rawRequest(path('mp.bin'));
    expect(r.headers.etag).toBe(want);
    expect(md5(r.body)).toBe(md5(big));
  });

  it('round-trips odd keys encoded by cdnPath', async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'odd/' }));
    // The keys really are stored as written: a client or emulator folding `.`/`//` would fail here.
    expect((listed.Contents ?? []).map((c) => c.Key).sort()).toEqual([...ODD_KEYS].sort());
    for (const key of ODD_KEYS) {
      const r = await rawRequest(path(key));
      expect({ key, status: r.status, body: r.body.toString() }).toEqual({ key, status: 200, body: `body of ${key}` });
    }
    // A `.` segment sent as %2E, and one sent literally, name the same S3 key (no folding at the edge).
    expect((await rawRequest(`/${bucket}/odd/./dot`)).body.toString()).toBe('body of odd/./dot');
    expect((await rawRequest(`/${bucket}/odd/${encodeURIComponent('100%')}`)).body.toString()).toBe('body of odd/100%');
  });
});
