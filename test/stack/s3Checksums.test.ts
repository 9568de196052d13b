// Full-object checksums on single PUTs, as S3 keeps them: the client's checksum is validated and stored,
// CRC64NVME is stored when the client sends none, and HEAD/GET with checksum mode return them. The
// checks are made by @aws-sdk/client-s3 (which validates what GET returns) and by AWS's own checksum
// implementations, never by the emulator's. Stock s3rver ignored every checksum.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { checksummingS3Client, objectPath, rawS3 } from './s3Testing.js';

const plain = makeS3Client();
const sdk = checksummingS3Client();
const bucket = uniqueName('s3sum');
const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 253));

/** The checksum S3 would compute, by AWS's implementations (CRCs) and node:crypto (SHAs), base64. */
async function expected(alg: ChecksumAlgorithm, data: Buffer): Promise<string> {
  if (alg === 'SHA1' || alg === 'SHA256') return createHash(alg.toLowerCase()).update(data).digest('base64');
  const impl = alg === 'CRC32' ? new Crc32() : alg === 'CRC32C' ? new Crc32c() : new Crc64Nvme();
  impl.update(data);
  return Buffer.from(await impl.digest()).toString('base64');
}

const headChecksums = async (key: string): Promise<Record<string, unknown>> => {
  const h = await plain.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  return { CRC32: h.ChecksumCRC32, CRC32C: h.ChecksumCRC32C, CRC64NVME: h.ChecksumCRC64NVME, SHA1: h.ChecksumSHA1, SHA256: h.ChecksumSHA256, type: h.ChecksumType };
};

beforeAll(async () => {
  await plain.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3 emulator: checksums on PUT', () => {
  it('stores CRC64NVME when the client sends no checksum (CRC-64/NVME check value of "123456789": ae8b14860a799888)', async () => {
    const put = await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'default/check.txt', Body: '123456789' }));
    const check = Buffer.from('ae8b14860a799888', 'hex').toString('base64');
    expect([put.ChecksumCRC64NVME, put.ChecksumType]).toEqual([check, 'FULL_OBJECT']);
    const raw = await rawS3('HEAD', objectPath(bucket, 'default/check.txt'), { headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    expect([raw.headers['x-amz-checksum-crc64nvme'], raw.headers['x-amz-checksum-type']]).toEqual([check, 'FULL_OBJECT']);
    // Only asked-for: without checksum mode S3 sends no checksum headers.
    const quiet = await rawS3('HEAD', objectPath(bucket, 'default/check.txt'));
    expect(quiet.headers['x-amz-checksum-crc64nvme']).toBeUndefined();
    const listed = await plain.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'default/' }));
    expect([listed.Contents?.[0].ChecksumAlgorithm, listed.Contents?.[0].ChecksumType]).toEqual([['CRC64NVME'], 'FULL_OBJECT']);
  });

  it('validates and keeps each algorithm the SDK sends, as a header and as an aws-chunked trailer; the SDK validates GET', async () => {
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const want = await expected(alg, body);
      for (const [how, Body] of [
        ['header', body],
        ['trailer', Readable.from([body.subarray(0, 100_000), body.subarray(100_000)])],
      ] as const) {
        const key = `sdk/${alg}-${how}`;
        const put = await sdk.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body, ContentLength: body.length, ChecksumAlgorithm: alg }));
        expect(put[`Checksum${alg}`], key).toBe(want);
        expect(await headChecksums(key), key).toMatchObject({ [alg]: want, type: 'FULL_OBJECT' });
        // The SDK compares the checksum S3 returns with the bytes it received, and throws on a mismatch.
        const got = await sdk.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
        expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body), key).toBe(true);
        expect(got[`Checksum${alg}`], key).toBe(want);
      }
    }
  });

  it('rejects a checksum that does not match with 400 BadDigest, stores nothing, and refuses conflicting checksum headers', async () => {
    const wrong = await expected('CRC32', Buffer.from('other bytes'));
    const r = await rawS3('PUT', objectPath(bucket, 'bad/header.txt'), { headers: { 'x-amz-checksum-crc32': wrong }, body: 'payload' });
    expect(r.status).toBe(400);
    expect(r.body.toString()).toContain('<Code>BadDigest</Code>');
    expect(r.body.toString()).toContain('The CRC32 you specified did not match the calculated checksum.');
    expect((await rawS3('HEAD', objectPath(bucket, 'bad/header.txt'))).status).toBe(404);
    // The same in a streamed (aws-chunked) body, where the checksum only arrives after the data.
    const chunked = `7\r\npayload\r\n0\r\nx-amz-checksum-crc32c:${wrong}\r\n\r\n`;
    const t = await rawS3('PUT', objectPath(bucket, 'bad/trailer.txt'), {
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length': '7',
        'x-amz-trailer': 'x-amz-checksum-crc32c',
      },
      body: chunked,
    });
    expect([t.status, t.body.toString().includes('The CRC32C you specified did not match')]).toEqual([400, true]);
    expect((await rawS3('HEAD', objectPath(bucket, 'bad/trailer.txt'))).status).toBe(404);
    const right = await expected('CRC32C', Buffer.from('payload'));
    const ok = await rawS3('PUT', objectPath(bucket, 'bad/trailer.txt'), {
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': '7', 'x-amz-trailer': 'x-amz-checksum-crc32c' },
      body: `7\r\npayload\r\n0\r\nx-amz-checksum-crc32c:${right}\r\n\r\n`,
    });
    expect(ok.status).toBe(200);
    expect(await headChecksums('bad/trailer.txt')).toMatchObject({ CRC32C: right });
    const two = await rawS3('PUT', objectPath(bucket, 'bad/two.txt'), {
      headers: { 'x-amz-checksum-crc32': wrong, 'x-amz-checksum-sha1': createHash('sha1').update('x').digest('base64') },
      body: 'x',
    });
    expect([two.status, two.body.toString().includes('<Code>InvalidRequest</Code>')]).toEqual([400, true]);
  });

  it('returns the checksum on whole-object reads only, not on ranged ones (the value describes the whole object)', async () => {
    await plain.send(new PutObjectCommand({ Bucket: bucket, Key: 'range/r.bin', Body: body }));
    const whole = await rawS3('GET', objectPath(bucket, 'range/r.bin'), { headers: { 'x-amz-checksum-mode': 'ENABLED' } });
    expect(whole.headers['x-amz-checksum-crc64nvme']).toBe(await expected('CRC64NVME', body));
    const r = await rawS3('GET', objectPath(bucket, 'range/r.bin'), { headers: { 'x-amz-checksum-mode': 'ENABLED', range: 'bytes=0-9' } });
    expect(r.status).toBe(206);
    expect(r.headers['x-amz-checksum-crc64nvme']).toBeUndefined();
  });
});
