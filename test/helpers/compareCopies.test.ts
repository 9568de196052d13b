// The independent judge itself: each kind of bad copy is reported as such, and a good copy passes, so a
// test that leans on it cannot pass because the judge looked away.
import { beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { compareCopies } from './compareCopies.js';
import { makeS3Client } from '../stack/s3Client.js';
import { uniqueName } from './names.js';
import { setAccessTier } from '../stack/s3Testing.js';

const s3 = makeS3Client();
const storage = new Storage({ projectId: 'ott-local', apiEndpoint: process.env.OTT_GCS_ENDPOINT });
const s3Bucket = uniqueName('cmp-s3');
const gcsBucket = uniqueName('cmp-gcs');

type Meta = { contentType?: string; cacheControl?: string; metadata?: Record<string, string> };
const s3Meta = (meta: Meta) => ({ ContentType: meta.contentType, CacheControl: meta.cacheControl, Metadata: meta.metadata });

async function both(key: string, s3Body: string, gcsBody: string | undefined, meta: Meta = {}, gcsMeta = meta): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: s3Bucket, Key: `src/${key}`, Body: s3Body, ...s3Meta(meta) }));
  if (gcsBody !== undefined) await storage.bucket(gcsBucket).file(`dst/${key}`).save(gcsBody, { resumable: false, metadata: gcsMeta });
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: s3Bucket }));
  await storage.createBucket(gcsBucket);
  const meta = { contentType: 'text/plain', cacheControl: 'no-cache', metadata: { owner: 'a' } };
  await both('same.txt', 'identical', 'identical', meta);
  await both('deep/same.txt', 'also identical', 'also identical', meta);
  await both('flipped.txt', 'abc', 'abd', meta); // same size, other bytes
  await both('shorter.txt', 'abcdef', 'abc', meta);
  await both('missing.txt', 'only in S3', undefined);
  await both('type-lost.txt', 'x', 'x', meta, { ...meta, contentType: 'application/octet-stream' });
  await both('owner-lost.txt', 'y', 'y', meta, { ...meta, metadata: {} });
  await both('ctrl\u0001char.txt', 'a key XML cannot carry', 'a key XML cannot carry', meta);
  // Archived: S3 refuses to serve them, so they are out of scope, reported and not compared.
  await s3.send(new PutObjectCommand({ Bucket: s3Bucket, Key: 'src/cold/glacier.bin', Body: 'frozen', StorageClass: 'GLACIER' }));
  await s3.send(new PutObjectCommand({ Bucket: s3Bucket, Key: 'src/cold/tiered.bin', Body: 'tiered', StorageClass: 'INTELLIGENT_TIERING' }));
  await setAccessTier(s3Bucket, 'src/cold/tiered.bin', 'DEEP_ARCHIVE_ACCESS');
  await s3.send(new PutObjectCommand({ Bucket: s3Bucket, Key: 'src/cold/served-ir.bin', Body: 'instant', StorageClass: 'GLACIER_IR', ...s3Meta(meta) }));
  await storage.bucket(gcsBucket).file('dst/cold/served-ir.bin').save('instant', { resumable: false, metadata: meta });
  await storage.bucket(gcsBucket).file('dst/extra.txt').save('only in GCS', { resumable: false });
  await storage.bucket(gcsBucket).file('elsewhere/ignored.txt').save('outside the prefix', { resumable: false });
});

describe('compareCopies', () => {
  it('reports missing, different and extra objects by their bytes, and lost metadata when asked', async () => {
    const o = { s3Bucket, s3Prefix: 'src/', gcsBucket, gcsPrefix: 'dst/', storage };
    const inS3 = ['identical', 'also identical', 'abc', 'abcdef', 'only in S3', 'x', 'y', 'a key XML cannot carry', 'instant'];
    const inGcs = ['identical', 'also identical', 'abd', 'abc', 'x', 'y', 'a key XML cannot carry', 'instant', 'only in GCS'];
    expect(await compareCopies({ ...o, metadata: true })).toEqual({
      objects: 4,
      bytes: 'identical'.length + 'also identical'.length + 'a key XML cannot carry'.length + 'instant'.length,
      missing: ['src/missing.txt'],
      different: ['src/flipped.txt', 'src/shorter.txt'],
      metadataLost: ['src/owner-lost.txt', 'src/type-lost.txt'],
      extra: ['dst/extra.txt'],
      archived: ['src/cold/glacier.bin', 'src/cold/tiered.bin'],
      archivedBytes: 'frozen'.length + 'tiered'.length,
      s3Objects: inS3.length,
      s3Bytes: inS3.join('').length,
      gcsObjects: inGcs.length,
      gcsBytes: inGcs.join('').length,
    });
    // Without the metadata check, the copies with lost metadata count as byte-identical.
    expect(await compareCopies(o)).toMatchObject({ objects: 6, metadataLost: [] });
  });
});
