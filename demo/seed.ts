// Uploads the demo dataset into the S3 emulator, bounded in concurrency, multipart where the dataset says.
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { contentStream, type DemoObject } from './dataset.js';

const PART_BYTES = 5 * 1024 * 1024; // S3's minimum part size: the most parts, the strictest ETag check

async function readAll(key: string, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of contentStream(key, size)) parts.push(b as Buffer);
  return Buffer.concat(parts);
}

/** The object's bytes cut into the given part sizes, one part in memory at a time. */
async function* partsOf(seed: string, size: number, partBytes: number[]): AsyncGenerator<Buffer> {
  if (partBytes.reduce((a, b) => a + b, 0) !== size) throw new Error(`seed ${seed}: parts ${partBytes.join('+')} do not sum to ${size} bytes`);
  let pending: Buffer[] = [];
  let have = 0;
  const sizes = [...partBytes];
  for await (const chunk of contentStream(seed, size)) {
    let c = chunk as Buffer;
    while (c.length) {
      const want = sizes[0];
      const take = Math.min(want - have, c.length);
      pending.push(c.subarray(0, take));
      have += take;
      c = c.subarray(take);
      if (have === want) {
        yield Buffer.concat(pending);
        sizes.shift();
        pending = [];
        have = 0;
      }
    }
  }
}

/** A multipart upload with exactly `o.partBytes` (S3 allows any sizes but the last to differ, from 5 MiB). */
async function putParts(s3: S3Client, common: Record<string, unknown> & { Bucket: string; Key: string }, o: DemoObject): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ ...common, StorageClass: o.storageClass as StorageClass | undefined }));
  const parts: { PartNumber: number; ETag: string }[] = [];
  let n = 0;
  for await (const body of partsOf(o.contentSeed ?? o.key, o.sizeBytes, o.partBytes!)) {
    const PartNumber = ++n;
    const r = await s3.send(new UploadPartCommand({ Bucket: common.Bucket, Key: common.Key, UploadId, PartNumber, Body: body, ContentLength: body.length }));
    parts.push({ PartNumber, ETag: r.ETag! });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: common.Bucket, Key: common.Key, UploadId, MultipartUpload: { Parts: parts } }));
}

/** Uploads one object as the dataset describes it (also how a chaos run changes the source mid-migration). */
export async function putOne(s3: S3Client, bucket: string, o: DemoObject): Promise<void> {
  const common = {
    Bucket: bucket,
    Key: o.key,
    ContentType: o.contentType,
    CacheControl: o.cacheControl,
    Metadata: o.metadata,
  };
  if (o.partBytes) {
    await putParts(s3, common, o);
  } else if (o.multipart) {
    const up = new Upload({ client: s3, params: { ...common, StorageClass: o.storageClass as StorageClass | undefined, Body: contentStream(o.contentSeed ?? o.key, o.sizeBytes) }, partSize: PART_BYTES, queueSize: 2 });
    await up.done();
  } else {
    await s3.send(new PutObjectCommand({ ...common, Body: await readAll(o.contentSeed ?? o.key, o.sizeBytes), ContentLength: o.sizeBytes, StorageClass: o.storageClass as StorageClass | undefined }));
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
