// XML API multipart uploads, driven by clients no one here wrote: @aws-sdk/client-s3 and lib-storage's
// Upload against the S3-compatible paths, the result read back through @google-cloud/storage and judged
// by its bytes.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type CompletedPart,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { CRC32C, Storage, type Bucket } from '@google-cloud/storage';
import { uniqueName } from '../../helpers/names.js';
import { gcsS3Client, md5Base64, md5Hex, MiB, PART_MIN, randomParts, s3Failure } from './xmlTesting.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local' });
const s3 = gcsS3Client(endpoint);
let bucket: Bucket;

const crc32cOf = (b: Buffer): string => {
  const c = new CRC32C();
  c.update(b);
  return c.toString();
};

async function download(name: string): Promise<Buffer> {
  return (await bucket.file(name).download())[0];
}

async function start(Key: string, extra: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {}): Promise<string> {
  const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key, ...extra }));
  expect(r.UploadId).toMatch(/^[\w-]{20,}$/);
  return r.UploadId!;
}

async function put(Key: string, UploadId: string, PartNumber: number, Body: Buffer, md5 = true): Promise<CompletedPart> {
  const r = await s3.send(new UploadPartCommand({ Bucket: bucket.name, Key, UploadId, PartNumber, Body, ContentMD5: md5 ? md5Base64(Body) : undefined }));
  return { PartNumber, ETag: r.ETag };
}

async function complete(Key: string, UploadId: string, Parts: CompletedPart[]): Promise<void> {
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket.name, Key, UploadId, MultipartUpload: { Parts } }));
}

async function failure(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  return p.then(
    () => ({ code: 'resolved', status: 200 }),
    (err: unknown) => s3Failure(err),
  );
}

beforeAll(async () => {
  [bucket] = await storage.createBucket(uniqueName('gcsxml'));
});

describe('GCS emulator: XML API multipart upload with @aws-sdk/client-s3', () => {
  it('assembles parts sent out of order into one object: bytes, size, CRC32C, no MD5, metadata from initiate', async () => {
    const key = 'mpu/ünï côde/obj.bin';
    const parts = randomParts(PART_MIN, PART_MIN + 123, 4567);
    const id = await start(key, { ContentType: 'application/x-test', CacheControl: 'no-cache', Metadata: { 'ott-source-etag': 'abc-3' }, StorageClass: 'NEARLINE' as StorageClass }); // a GCS class the SDK's enum lacks: sent as x-amz-storage-class
    const done = await Promise.all([3, 1, 2].map((n) => put(key, id, n, parts[n - 1])));
    for (const d of done) expect(d.ETag).toBe(`"${md5Hex(parts[d.PartNumber! - 1])}"`);

    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket.name, Key: key, UploadId: id, MaxParts: 2 }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, PART_MIN], [2, PART_MIN + 123]]);
    expect([listed.IsTruncated, listed.NextPartNumberMarker]).toEqual([true, '2']);
    const rest = await s3.send(new ListPartsCommand({ Bucket: bucket.name, Key: key, UploadId: id, PartNumberMarker: '2' }));
    expect(rest.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([[3, done[0].ETag]]);
    const inProgress = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: 'mpu/' }));
    expect(inProgress.Uploads?.map((u) => [u.Key, u.UploadId, u.StorageClass])).toEqual([[key, id, 'NEARLINE']]);
    // Parts are not objects: listings show nothing until the upload completes.
    expect((await bucket.getFiles({ prefix: 'mpu/' }))[0]).toEqual([]);

    await complete(key, id, [...done].sort((a, b) => a.PartNumber! - b.PartNumber!));
    const whole = Buffer.concat(parts);
    const [meta] = await bucket.file(key).getMetadata();
    expect(meta).toMatchObject({ size: String(whole.length), crc32c: crc32cOf(whole), componentCount: 3, contentType: 'application/x-test', cacheControl: 'no-cache', storageClass: 'NEARLINE', metadata: { 'ott-source-etag': 'abc-3' } });
    expect(meta.md5Hash).toBeUndefined();
    expect(createHash('md5').update(await download(key)).digest('hex')).toBe(md5Hex(whole));
    // The upload and its parts are gone.
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: 'mpu/' }))).Uploads ?? []).toEqual([]);
    expect(await failure(s3.send(new ListPartsCommand({ Bucket: bucket.name, Key: key, UploadId: id })))).toEqual({ code: 'NoSuchUpload', status: 404 });
  });

  it('keeps only the last upload of a part number, and refuses a stale ETag with InvalidPart', async () => {
    const key = 'replace/obj';
    const [first, second, tail] = randomParts(PART_MIN, PART_MIN, 10);
    const id = await start(key);
    const stale = await put(key, id, 1, first);
    const fresh = await put(key, id, 1, second);
    const last = await put(key, id, 2, tail);
    expect(await failure(complete(key, id, [stale, last]))).toEqual({ code: 'InvalidPart', status: 400 });
    await complete(key, id, [fresh, last]);
    expect((await download(key)).equals(Buffer.concat([second, tail]))).toBe(true);
  });

  it('rejects a part whose Content-MD5 does not match (BadDigest, nothing stored) or is malformed (InvalidDigest)', async () => {
    const key = 'digest/obj';
    const [body, other] = randomParts(1000, 1000);
    const id = await start(key);
    const bad = s3.send(new UploadPartCommand({ Bucket: bucket.name, Key: key, UploadId: id, PartNumber: 1, Body: body, ContentMD5: md5Base64(other) }));
    expect(await failure(bad)).toEqual({ code: 'BadDigest', status: 400 });
    const malformed = s3.send(new UploadPartCommand({ Bucket: bucket.name, Key: key, UploadId: id, PartNumber: 1, Body: body, ContentMD5: 'bm90LW1kNQ==' }));
    expect(await failure(malformed)).toEqual({ code: 'InvalidDigest', status: 400 });
    expect((await s3.send(new ListPartsCommand({ Bucket: bucket.name, Key: key, UploadId: id }))).Parts ?? []).toEqual([]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: id }));
  });

  it('refuses a completion with a small non-last part, parts out of order, or no parts', async () => {
    const key = 'rules/obj';
    const [small, big, tail] = randomParts(PART_MIN - 1, PART_MIN, 5);
    const id = await start(key);
    const p1 = await put(key, id, 1, small);
    const p2 = await put(key, id, 2, big);
    const p3 = await put(key, id, 3, tail);
    expect(await failure(complete(key, id, [p1, p2]))).toEqual({ code: 'EntityTooSmall', status: 400 });
    expect(await failure(complete(key, id, [p3, p2]))).toEqual({ code: 'InvalidPartOrder', status: 400 });
    expect(await failure(complete(key, id, []))).toEqual({ code: 'MalformedXML', status: 400 });
    expect(await failure(put(key, id, 10_001, tail))).toEqual({ code: 'InvalidArgument', status: 400 });
    // A refused completion leaves the upload usable: a subset of the parts makes the object.
    await complete(key, id, [p2, p3]);
    expect((await download(key)).equals(Buffer.concat([big, tail]))).toBe(true);
    // Part 1 was not used, and is gone with the upload all the same.
    expect(await failure(put(key, id, 1, small))).toEqual({ code: 'NoSuchUpload', status: 404 });
  });

  it('aborts: the upload and its parts disappear, later calls answer NoSuchUpload', async () => {
    const key = 'abort/obj';
    const id = await start(key);
    const p1 = await put(key, id, 1, randomParts(100)[0]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: id }));
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: 'abort/' }))).Uploads ?? []).toEqual([]);
    expect(await failure(complete(key, id, [p1]))).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: id })))).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(await bucket.file(key).exists()).toEqual([false]);
  });

  it('refuses preconditions, as GCS does for XML multipart uploads (400 NotImplemented), and completes over a live object', async () => {
    const key = 'precond/obj';
    await bucket.file(key).save('old bytes', { resumable: false });
    const [before] = await bucket.file(key).getMetadata();
    const init = await fetch(`${endpoint}/${bucket.name}/${key}?uploads`, { method: 'POST', headers: { 'x-goog-if-generation-match': '0' } });
    expect(init.status).toBe(400);
    expect(await init.text()).toMatch(/<Code>NotImplemented<\/Code>.*x-goog-if-generation-match/);
    const id = await start(key);
    const p1 = await put(key, id, 1, Buffer.from('new bytes'));
    const ifNoneMatch = s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: id, IfNoneMatch: '*', MultipartUpload: { Parts: [p1] } }));
    expect(await failure(ifNoneMatch)).toEqual({ code: 'NotImplemented', status: 400 });
    await complete(key, id, [p1]);
    const [after] = await bucket.file(key).getMetadata();
    expect(BigInt(after.generation!)).toBeGreaterThan(BigInt(before.generation!));
    expect((await download(key)).toString()).toBe('new bytes');
    // The JSON API's preconditions hold on the completed object as on any other.
    await expect(bucket.file(key).save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })).rejects.toMatchObject({ code: 412 });
  });

  it('pages in-progress uploads of one bucket by key, oldest first per key', async () => {
    const ids = [await start('list/b'), await start('list/a'), await start('list/b')];
    const page1 = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: 'list/', MaxUploads: 2 }));
    expect(page1.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['list/a', ids[1]], ['list/b', ids[0]]]);
    expect(page1.IsTruncated).toBe(true);
    const page2 = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket.name, Prefix: 'list/', KeyMarker: page1.NextKeyMarker, UploadIdMarker: page1.NextUploadIdMarker }));
    expect(page2.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['list/b', ids[2]]]);
    expect(page2.IsTruncated).toBe(false);
    for (const [i, key] of ['list/b', 'list/a', 'list/b'].entries()) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: ids[i] }));
  });

  it("serves lib-storage's Upload (parallel parts), read back identical", async () => {
    const body = randomParts(12 * MiB + 333)[0];
    const upload = new Upload({ client: s3, params: { Bucket: bucket.name, Key: 'lib/storage.bin', Body: body, ContentType: 'application/x-lib' }, partSize: PART_MIN, queueSize: 3 });
    await upload.done();
    const [meta] = await bucket.file('lib/storage.bin').getMetadata();
    expect(meta).toMatchObject({ size: String(body.length), crc32c: crc32cOf(body), componentCount: 3, contentType: 'application/x-lib' });
    expect(md5Hex(await download('lib/storage.bin'))).toBe(md5Hex(body));
  });

  it('on the wire: part responses carry ETag and x-goog-hash; x-goog-hash is checked; aws-chunked bodies are refused, not stored', async () => {
    const id = await start('wire/obj');
    const url = (n: number): string => `${endpoint}/${bucket.name}/wire/obj?partNumber=${n}&uploadId=${id}`;
    const body = Buffer.from('wire bytes');
    const ok = await fetch(url(1), { method: 'PUT', body, headers: { 'x-goog-hash': `crc32c=${crc32cOf(body)}` } });
    expect([ok.status, ok.headers.get('etag'), ok.headers.get('x-goog-hash')]).toEqual([200, `"${md5Hex(body)}"`, `crc32c=${crc32cOf(body)},md5=${md5Base64(body)}`]);
    const bad = await fetch(url(2), { method: 'PUT', body, headers: { 'x-goog-hash': `crc32c=${crc32cOf(Buffer.from('other'))}` } });
    expect([bad.status, await bad.text()]).toEqual([400, expect.stringMatching(/<Code>BadDigest<\/Code>.*CRC32C/)]);
    const chunked = await fetch(url(3), { method: 'PUT', body, headers: { 'content-encoding': 'aws-chunked', 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' } });
    expect([chunked.status, await chunked.text()]).toEqual([400, expect.stringMatching(/NotImplemented.*requestChecksumCalculation/)]);
    expect((await s3.send(new ListPartsCommand({ Bucket: bucket.name, Key: 'wire/obj', UploadId: id }))).Parts?.map((p) => p.PartNumber)).toEqual([1]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket.name, Key: 'wire/obj', UploadId: id }));
  });
});
