// Server-side encryption as S3 reports it: every object is SSE-S3 (AES256) unless the request asks for
// KMS, and an SSE-KMS object's ETag is 32 hex digits that are NOT the MD5 of its bytes, marked only by
// `x-amz-server-side-encryption: aws:kms` (on PUT, GET, HEAD and through the CDN fixture). Stock s3rver
// ignored encryption and always gave the MD5.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { rawRequest } from './cdn/testing.js';
import { objectPath, rawS3 } from './s3Testing.js';

const s3 = makeS3Client();
const bucket = uniqueName('s3sse');
const MiB = 1024 * 1024;
const body = Buffer.from('an object under a KMS key');
const md5Hex = (b: Buffer): string => createHash('md5').update(b).digest('hex');

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3 emulator: server-side encryption', () => {
  it('SSE-KMS: a 32-hex ETag that is not the MD5, the same on PUT, HEAD, GET, in listings and through the CDN, with the key id', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms/a.txt', Body: body, ServerSideEncryption: 'aws:kms' }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.ETag).not.toBe(`"${md5Hex(body)}"`);
    expect(put.ServerSideEncryption).toBe('aws:kms');
    expect(put.SSEKMSKeyId).toMatch(/^arn:aws:kms:/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms/a.txt' }));
    expect([head.ETag, head.ServerSideEncryption, head.SSEKMSKeyId]).toEqual([put.ETag, 'aws:kms', put.SSEKMSKeyId]);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'kms/a.txt' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect([got.ETag, got.ServerSideEncryption]).toEqual([put.ETag, 'aws:kms']);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'kms/' }));
    expect(listed.Contents?.[0].ETag).toBe(put.ETag);
    const viaCdn = await rawRequest(`/${bucket}/kms/a.txt`);
    expect(viaCdn.body.equals(body)).toBe(true);
    expect(viaCdn.headers.etag).toBe(put.ETag);
    expect(viaCdn.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(viaCdn.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe(put.SSEKMSKeyId);
    // The same bytes written again get another ETag: it was never derived from them.
    const again = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms/a.txt', Body: body, ServerSideEncryption: 'aws:kms' }));
    expect(again.ETag).not.toBe(put.ETag);
  });

  it('SSE-KMS keeps the key id and bucket-key flag the client named', async () => {
    const keyId = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'kms/named.txt', Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: true }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms/named.txt' }));
    expect([head.SSEKMSKeyId, head.BucketKeyEnabled]).toEqual([keyId, true]);
  });

  it('SSE-KMS multipart: a 32-hex-N ETag that is not md5(part md5s)-N', async () => {
    const data = Buffer.alloc(6 * MiB, 5);
    const done = await new Upload({ client: s3, params: { Bucket: bucket, Key: 'kms/mp.bin', Body: data, ServerSideEncryption: 'aws:kms' }, partSize: 5 * MiB }).done();
    const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)];
    const md5OfMd5s = createHash('md5').update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest()))).digest('hex');
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(done.ETag).not.toBe(`"${md5OfMd5s}-2"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'kms/mp.bin' }));
    expect([head.ETag, head.ServerSideEncryption, head.ContentLength]).toEqual([done.ETag, 'aws:kms', data.length]);
  });

  it('everything else is SSE-S3: AES256 on PUT and HEAD, and the ETag stays the MD5', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain/a.txt', Body: body }));
    expect([put.ETag, put.ServerSideEncryption]).toEqual([`"${md5Hex(body)}"`, 'AES256']);
    const raw = await rawS3('HEAD', objectPath(bucket, 'plain/a.txt'));
    expect(raw.headers['x-amz-server-side-encryption']).toBe('AES256');
    expect(raw.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBeUndefined();
    const bad = await rawS3('PUT', objectPath(bucket, 'plain/bad.txt'), { headers: { 'x-amz-server-side-encryption': 'rot13' }, body: 'x' });
    expect([bad.status, bad.body.toString().includes('<Code>InvalidArgument</Code>')]).toEqual([400, true]);
  });
});
