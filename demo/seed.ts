// Uploads the demo dataset into the S3 emulator, bounded in concurrency, multipart where the dataset says.
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { contentStream, type DemoObject } from './dataset.js';

const PART_BYTES = 5 * 1024 * 1024; // S3's minimum part size: the most parts, the strictest ETag check

async function readAll(key: string, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of contentStream(key, size)) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

async function putOne(s3: S3Client, bucket: string, o: DemoObject): Promise<void> {
  const common = {
    Bucket: bucket,
    Key: o.key,
    ContentType: o.contentType,
    CacheControl: o.cacheControl,
    Metadata: o.metadata,
  };
  if (o.multipart) {
    const up = new Upload({ client: s3, params: { ...common, Body: contentStream(o.key, o.sizeBytes) }, partSize: PART_BYTES, queueSize: 2 });
    await up.done();
  } else {
    await s3.send(new PutObjectCommand({ ...common, Body: await readAll(o.key, o.sizeBytes), ContentLength: o.sizeBytes }));
  }
}

export async function seedBucket(s3: S3Client, bucket: string, objects: DemoObject[], concurrency: number, onProgress?: (done: number, bytes: number) => void): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: { name?: string }) => {
    if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
  });
  let next = 0;
  let done = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++];
      await putOne(s3, bucket, o);
      done++;
      bytes += o.sizeBytes;
      onProgress?.(done, bytes);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
