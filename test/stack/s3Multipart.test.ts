// Multipart uploads as S3 completes them: non-uniform part sizes (ETag and per-part reads), COMPOSITE and
// FULL_OBJECT checksums and S3's rules for them, and GetObjectAttributes. Expected values come from
// node:crypto and AWS's checksum code, and reads go through the SDK, which validates full-object
// checksums itself. Stock s3rver gave multipart objects the whole object's MD5 and kept no checksum.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { checksummingS3Client } from './s3Testing.js';

const plain = makeS3Client();
const sdk = checksummingS3Client();
const bucket = uniqueName('s3mpu');
const MiB = 1024 * 1024;
const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest();
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('base64');

/** Distinct bytes per part, so a part served from the wrong offset cannot pass. */
function part(sizeBytes: number, seed: number): Buffer {
  const b = Buffer.alloc(sizeBytes, seed);
  for (let i = 0; i < sizeBytes; i += 1000) b[i] = (i / 1000 + seed) % 256;
  return b;
}

interface Uploaded {
  uploadId: string;
  parts: CompletedPart[];
}

async function upload(client: S3Client, key: string, bodies: Buffer[], alg?: ChecksumAlgorithm, type?: ChecksumType): Promise<Uploaded> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: alg, ChecksumType: type }));
  const parts: CompletedPart[] = [];
  for (const [i, Body] of bodies.entries()) {
    const r = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm: alg }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256, ChecksumCRC32C: r.ChecksumCRC32C, ChecksumCRC64NVME: r.ChecksumCRC64NVME });
  }
  return { uploadId: UploadId!, parts };
}

const complete = (client: S3Client, key: string, u: Uploaded, extra: Record<string, unknown> = {}) =>
  client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: u.uploadId, MultipartUpload: { Parts: u.parts }, ...extra }));

const NON_UNIFORM = [part(5 * MiB, 1), part(7 * MiB, 2), part(5 * MiB, 3), part(1024, 4)];

beforeAll(async () => {
  await plain.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3 emulator: multipart uploads', () => {
  it('gives non-uniform parts (5 MiB, 7 MiB, 5 MiB, 1 KiB) the ETag md5(part md5s)-4 and serves every part by number', async () => {
    const u = await upload(plain, 'nu/obj.bin', NON_UNIFORM);
    const done = await complete(plain, 'nu/obj.bin', u);
    const etag = `"${createHash('md5').update(Buffer.concat(NON_UNIFORM.map(md5))).digest('hex')}-4"`;
    expect(done.ETag).toBe(etag);
    let offset = 0;
    const total = NON_UNIFORM.reduce((n, b) => n + b.length, 0);
    for (const [i, want] of NON_UNIFORM.entries()) {
      const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'nu/obj.bin', PartNumber: i + 1 }));
      expect([head.ContentLength, head.PartsCount, head.ETag], `part ${i + 1}`).toEqual([want.length, 4, etag]);
      const got = await plain.send(new GetObjectCommand({ Bucket: bucket, Key: 'nu/obj.bin', PartNumber: i + 1 }));
      expect(got.ContentRange).toBe(`bytes ${offset}-${offset + want.length - 1}/${total}`);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(want), `part ${i + 1} bytes`).toBe(true);
      offset += want.length;
    }
    await expect(plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'nu/obj.bin', PartNumber: 5 }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 416 } });
  });

  it('COMPOSITE (SHA256): base64(sha256(part checksums))-N; GetObjectAttributes shows it without -N, with parts, sizes and part checksums, paged', async () => {
    const bodies = NON_UNIFORM.slice(1);
    const u = await upload(sdk, 'comp/obj.bin', bodies, 'SHA256');
    const composite = createHash('sha256').update(Buffer.concat(bodies.map((b) => Buffer.from(sha256(b), 'base64')))).digest('base64');
    const done = await complete(sdk, 'comp/obj.bin', u);
    expect([done.ChecksumSHA256, done.ChecksumType]).toEqual([`${composite}-3`, 'COMPOSITE']);
    const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'comp/obj.bin', ChecksumMode: 'ENABLED' }));
    expect([head.ChecksumSHA256, head.ChecksumType]).toEqual([`${composite}-3`, 'COMPOSITE']);
    const all = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
    const attrs = await plain.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'comp/obj.bin', ObjectAttributes: [...all] }));
    expect(attrs.ETag).toBe(done.ETag!.replace(/"/g, ''));
    expect(attrs.Checksum).toEqual({ ChecksumSHA256: composite, ChecksumType: 'COMPOSITE' });
    expect([attrs.StorageClass, attrs.ObjectSize]).toEqual(['STANDARD', bodies.reduce((n, b) => n + b.length, 0)]);
    expect(attrs.ObjectParts?.TotalPartsCount).toBe(3);
    expect(attrs.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumSHA256])).toEqual(bodies.map((b, i) => [i + 1, b.length, sha256(b)]));
    const page1 = await plain.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'comp/obj.bin', ObjectAttributes: ['ObjectParts'], MaxParts: 2 }));
    expect([page1.ObjectParts?.IsTruncated, page1.ObjectParts?.NextPartNumberMarker, page1.ObjectParts?.Parts?.length]).toEqual([true, '2', 2]);
    const page2 = await plain.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'comp/obj.bin', ObjectAttributes: ['ObjectParts'], PartNumberMarker: '2' }));
    expect(page2.ObjectParts?.Parts?.map((p) => p.PartNumber)).toEqual([3]);
  });

  it('FULL_OBJECT (CRC64NVME): the whole object\'s checksum, validated against the client\'s value on Complete; the SDK validates GET', async () => {
    const bodies = [part(5 * MiB, 7), part(6 * MiB + 3, 8)];
    const whole = new Crc64Nvme();
    for (const b of bodies) whole.update(b);
    const want = Buffer.from(await whole.digest()).toString('base64');
    const bad = await upload(sdk, 'full/bad.bin', bodies, 'CRC64NVME', 'FULL_OBJECT');
    await expect(complete(sdk, 'full/bad.bin', bad, { ChecksumCRC64NVME: 'AAAAAAAAAAA=', ChecksumType: 'FULL_OBJECT' })).rejects.toMatchObject({ name: 'BadDigest' });
    const u = await upload(sdk, 'full/obj.bin', bodies, 'CRC64NVME', 'FULL_OBJECT');
    const done = await complete(sdk, 'full/obj.bin', u, { ChecksumCRC64NVME: want, ChecksumType: 'FULL_OBJECT' });
    expect([done.ChecksumCRC64NVME, done.ChecksumType]).toEqual([want, 'FULL_OBJECT']);
    const got = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: 'full/obj.bin', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumCRC64NVME).toBe(want);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(bodies))).toBe(true);
  });

  it('refuses what S3 refuses: bad algorithm/type pairs, missing or foreign part checksums, wrong part checksums', async () => {
    const create = (alg: ChecksumAlgorithm, type: ChecksumType) => plain.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'rules/x', ChecksumAlgorithm: alg, ChecksumType: type }));
    await expect(create('SHA256', 'FULL_OBJECT')).rejects.toMatchObject({ name: 'InvalidRequest' });
    await expect(create('CRC64NVME', 'COMPOSITE')).rejects.toMatchObject({ name: 'InvalidRequest' });
    const { UploadId } = await plain.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'rules/comp', ChecksumAlgorithm: 'SHA256' }));
    // WHEN_REQUIRED sends no part checksum: a COMPOSITE upload needs one.
    await expect(plain.send(new UploadPartCommand({ Bucket: bucket, Key: 'rules/comp', UploadId, PartNumber: 1, Body: 'x' }))).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: 'Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: null',
    });
    await expect(sdk.send(new UploadPartCommand({ Bucket: bucket, Key: 'rules/comp', UploadId, PartNumber: 1, Body: 'x', ChecksumAlgorithm: 'CRC32' }))).rejects.toMatchObject({ name: 'InvalidRequest' });
    const p1 = await sdk.send(new UploadPartCommand({ Bucket: bucket, Key: 'rules/comp', UploadId, PartNumber: 1, Body: 'x', ChecksumAlgorithm: 'SHA256' }));
    const u: Uploaded = { uploadId: UploadId!, parts: [{ PartNumber: 1, ETag: p1.ETag }] };
    await expect(complete(plain, 'rules/comp', u)).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('The complete request must include the checksum for each part. It was missing for part 1'),
    });
    await expect(complete(plain, 'rules/comp', { ...u, parts: [{ ...u.parts[0], ChecksumSHA256: sha256(Buffer.from('y')) }] })).rejects.toMatchObject({ name: 'InvalidPart' });
    const ok = await complete(plain, 'rules/comp', { ...u, parts: [{ ...u.parts[0], ChecksumSHA256: p1.ChecksumSHA256 }] });
    expect(ok.ChecksumType).toBe('COMPOSITE');
  });

  it('an upload that names no algorithm answers CRC64NVME FULL_OBJECT but keeps no checksum; GetObjectAttributes lists no parts', async () => {
    const bodies = [part(5 * MiB, 9), part(100, 10)];
    const crc = new Crc64Nvme();
    for (const b of bodies) crc.update(b);
    const u = await upload(plain, 'plain/obj.bin', bodies);
    const done = await complete(plain, 'plain/obj.bin', u);
    expect([done.ChecksumCRC64NVME, done.ChecksumType]).toEqual([Buffer.from(await crc.digest()).toString('base64'), 'FULL_OBJECT']);
    const head = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: 'plain/obj.bin', ChecksumMode: 'ENABLED' }));
    expect([head.ChecksumCRC64NVME, head.ChecksumType]).toEqual([undefined, undefined]);
    const attrs = await plain.send(new GetObjectAttributesCommand({ Bucket: bucket, Key: 'plain/obj.bin', ObjectAttributes: ['ObjectParts', 'Checksum'] }));
    expect(attrs.ObjectParts).toEqual({ TotalPartsCount: 2 });
    expect(attrs.Checksum).toBeUndefined();
  });
});
