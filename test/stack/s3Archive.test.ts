// Archived objects in the S3 emulator, through @aws-sdk/client-s3 and raw HTTP, and through the CDN
// fixture: S3 refuses to serve GLACIER / DEEP_ARCHIVE objects and Intelligent-Tiering objects in an
// archive tier (403 InvalidObjectState) until they are restored. Stock s3rver served them all.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { rawRequest } from './cdn/testing.js';
import { objectPath, rawS3, setAccessTier } from './s3Testing.js';

const s3: S3Client = makeS3Client();
const bucket = uniqueName('s3arch');
const MiB = 1024 * 1024;

async function put(key: string, storageClass: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}`, StorageClass: storageClass as 'STANDARD' }));
}

const getText = async (key: string): Promise<string> => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3 emulator: archived objects', () => {
  it('answers GET of GLACIER and DEEP_ARCHIVE objects with 403 InvalidObjectState naming the class; HEAD and listings still work', async () => {
    await put('cold/glacier.txt', 'GLACIER');
    await put('cold/deep.txt', 'DEEP_ARCHIVE');
    // Multipart uploads choose their class on CreateMultipartUpload.
    await new Upload({ client: s3, params: { Bucket: bucket, Key: 'cold/deep-mp.bin', Body: Buffer.alloc(6 * MiB, 1), StorageClass: 'DEEP_ARCHIVE' }, partSize: 5 * MiB }).done();
    for (const [key, storageClass] of [['cold/glacier.txt', 'GLACIER'], ['cold/deep.txt', 'DEEP_ARCHIVE'], ['cold/deep-mp.bin', 'DEEP_ARCHIVE']]) {
      await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })), key).rejects.toMatchObject({
        name: 'InvalidObjectState',
        StorageClass: storageClass,
        $metadata: { httpStatusCode: 403 },
      });
      const raw = await rawS3('GET', objectPath(bucket, key));
      expect(raw.status).toBe(403);
      expect(raw.headers['content-type']).toBe('application/xml');
      expect(raw.body.toString()).toContain('<Code>InvalidObjectState</Code>');
      expect(raw.body.toString()).toContain(`<StorageClass>${storageClass}</StorageClass>`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(head.StorageClass).toBe(storageClass);
      // A ranged read and a read by part number are reads too.
      await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-1' }))).rejects.toMatchObject({ name: 'InvalidObjectState' });
    }
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cold/deep-mp.bin', PartNumber: 1 }))).rejects.toMatchObject({ name: 'InvalidObjectState' });
    await expect(s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'cold/copy.txt', CopySource: `${bucket}/cold/glacier.txt` }))).rejects.toMatchObject({ name: 'InvalidObjectState' });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'cold/' }));
    expect(Object.fromEntries((listed.Contents ?? []).map((c) => [c.Key, c.StorageClass]))).toEqual({
      'cold/deep-mp.bin': 'DEEP_ARCHIVE',
      'cold/deep.txt': 'DEEP_ARCHIVE',
      'cold/glacier.txt': 'GLACIER',
    });
  });

  it('serves GLACIER_IR, STANDARD_IA, ONEZONE_IA and INTELLIGENT_TIERING (frequent tier) objects normally', async () => {
    for (const storageClass of ['GLACIER_IR', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING']) {
      const key = `warm/${storageClass}.txt`;
      await put(key, storageClass);
      expect(await getText(key)).toBe(`body of ${key}`);
      expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).StorageClass).toBe(storageClass);
    }
    // S3 leaves the storage class header out for STANDARD objects.
    await put('warm/standard.txt', 'STANDARD');
    const raw = await rawS3('HEAD', objectPath(bucket, 'warm/standard.txt'));
    expect(raw.status).toBe(200);
    expect(raw.headers['x-amz-storage-class']).toBeUndefined();
  });

  it('refuses Intelligent-Tiering objects in an archive tier (fixture control), naming the AccessTier; HEAD shows x-amz-archive-status', async () => {
    for (const tier of ['ARCHIVE_ACCESS', 'DEEP_ARCHIVE_ACCESS'] as const) {
      const key = `tier/${tier}.txt`;
      await put(key, 'INTELLIGENT_TIERING');
      await setAccessTier(bucket, key, tier);
      await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).rejects.toMatchObject({
        name: 'InvalidObjectState',
        StorageClass: 'INTELLIGENT_TIERING',
        AccessTier: tier,
        $metadata: { httpStatusCode: 403 },
      });
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect([head.StorageClass, head.ArchiveStatus]).toEqual(['INTELLIGENT_TIERING', tier]);
      await setAccessTier(bucket, key, 'FREQUENT_ACCESS');
      expect(await getText(key)).toBe(`body of ${key}`);
    }
    // Only Intelligent-Tiering objects have tiers; a missing key is named.
    await put('tier/standard.txt', 'STANDARD');
    await expect(setAccessTier(bucket, 'tier/standard.txt', 'ARCHIVE_ACCESS')).rejects.toThrow(/409.*STANDARD/);
    await expect(setAccessTier(bucket, 'tier/missing.txt', 'ARCHIVE_ACCESS')).rejects.toThrow(/404/);
  });

  it('restores: RestoreObject makes GET serve the object with x-amz-restore; S3 refuses to restore what is not archived', async () => {
    await put('restore/g.txt', 'GLACIER');
    const first = await s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'restore/g.txt', RestoreRequest: { Days: 2, GlacierJobParameters: { Tier: 'Standard' } } }));
    expect(first.$metadata.httpStatusCode).toBe(202);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'restore/g.txt' }));
    expect(await got.Body!.transformToString()).toBe('body of restore/g.txt');
    expect(got.Restore).toMatch(/^ongoing-request="false", expiry-date="[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} 00:00:00 GMT"$/);
    expect(got.StorageClass).toBe('GLACIER');
    const again = await s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'restore/g.txt', RestoreRequest: { Days: 3 } }));
    expect(again.$metadata.httpStatusCode).toBe(200);
    // An Intelligent-Tiering object leaves the archive tier for the frequent one (no expiry, no Days).
    await put('restore/int.txt', 'INTELLIGENT_TIERING');
    await setAccessTier(bucket, 'restore/int.txt', 'DEEP_ARCHIVE_ACCESS');
    await expect(s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'restore/int.txt', RestoreRequest: { Days: 1 } }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
    expect((await s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'restore/int.txt', RestoreRequest: {} }))).$metadata.httpStatusCode).toBe(202);
    expect(await getText('restore/int.txt')).toBe('body of restore/int.txt');
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'restore/int.txt' }))).ArchiveStatus).toBeUndefined();
    await put('restore/std.txt', 'STANDARD');
    await expect(s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'restore/std.txt', RestoreRequest: { Days: 1 } }))).rejects.toMatchObject({
      name: 'InvalidObjectState',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('the CDN fixture passes the 403 through unchanged (status, XML body, content type), and serves a restored object', async () => {
    await put('cdn/g.txt', 'GLACIER');
    const direct = await rawS3('GET', objectPath(bucket, 'cdn/g.txt'));
    const viaCdn = await rawRequest(`/${bucket}/cdn/g.txt`);
    expect(viaCdn.status).toBe(403);
    expect(viaCdn.headers['content-type']).toBe(direct.headers['content-type']);
    expect(viaCdn.body.toString()).toBe(direct.body.toString());
    expect(viaCdn.body.toString()).toContain('<StorageClass>GLACIER</StorageClass>');
    const head = await rawRequest(`/${bucket}/cdn/g.txt`, { method: 'HEAD' });
    expect([head.status, head.headers['x-amz-storage-class']]).toEqual([200, 'GLACIER']);
    await s3.send(new RestoreObjectCommand({ Bucket: bucket, Key: 'cdn/g.txt', RestoreRequest: { Days: 1 } }));
    const restored = await rawRequest(`/${bucket}/cdn/g.txt`);
    expect([restored.status, restored.body.toString()]).toEqual([200, 'body of cdn/g.txt']);
    expect(restored.headers['x-amz-restore']).toMatch(/^ongoing-request="false"/);
  });
});
