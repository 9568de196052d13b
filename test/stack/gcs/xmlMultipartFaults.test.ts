// Fault injection on XML API multipart uploads: one part of several fails exactly as the real failure
// would look to @aws-sdk/client-s3, the other parts are untouched, and a failed part stores nothing.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, ListPartsCommand, UploadPartCommand, type CompletedPart } from '@aws-sdk/client-s3';
import { Storage, type Bucket } from '@google-cloud/storage';
import { addFaults, listFaults, type FaultRule } from '../faults.js';
import { uniqueName } from '../../helpers/names.js';
import { gcsS3Client, md5Base64, md5Hex, PART_MIN, randomParts, s3Failure } from './xmlTesting.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local' });
/** No SDK retries: each injected fault is seen by the call it hits. */
const once = gcsS3Client(endpoint, 1);
const retrying = gcsS3Client(endpoint, 3);
let bucket: Bucket;

async function ourRules(): Promise<Awaited<ReturnType<typeof listFaults>>> {
  return (await listFaults(endpoint)).filter((r) => r.match?.bucket === bucket.name);
}

function fault(rule: Omit<FaultRule, 'match'> & { match: Omit<NonNullable<FaultRule['match']>, 'bucket'> }): Promise<number[]> {
  return addFaults(endpoint, { ...rule, match: { ...rule.match, bucket: bucket.name } });
}

async function start(key: string): Promise<string> {
  return (await once.send(new CreateMultipartUploadCommand({ Bucket: bucket.name, Key: key }))).UploadId!;
}

function put(key: string, id: string, n: number, body: Buffer, opts: { md5?: boolean; client?: typeof once } = {}): Promise<CompletedPart> {
  const cmd = new UploadPartCommand({ Bucket: bucket.name, Key: key, UploadId: id, PartNumber: n, Body: body, ContentMD5: opts.md5 === false ? undefined : md5Base64(body) });
  return (opts.client ?? once).send(cmd).then((r) => ({ PartNumber: n, ETag: r.ETag }));
}

async function partNumbers(key: string, id: string): Promise<number[]> {
  return ((await once.send(new ListPartsCommand({ Bucket: bucket.name, Key: key, UploadId: id }))).Parts ?? []).map((p) => p.PartNumber!);
}

function complete(key: string, id: string, Parts: CompletedPart[]): Promise<unknown> {
  return once.send(new CompleteMultipartUploadCommand({ Bucket: bucket.name, Key: key, UploadId: id, MultipartUpload: { Parts } }));
}

beforeAll(async () => {
  [bucket] = await storage.createBucket(uniqueName('gcsxmlf'));
});

afterEach(async () => {
  // Every rule a test programs is spent by that test: a leftover would mean the fault never fired.
  expect((await ourRules()).filter((r) => r.remaining > 0)).toEqual([]);
});

describe('GCS emulator: faults on XML multipart uploads', () => {
  it('fails exactly one part number with 503 while the parts around it land; that part alone is sent again', async () => {
    const key = 'status/obj';
    const parts = randomParts(PART_MIN, PART_MIN, 99);
    const id = await start(key);
    await fault({ match: { op: 'part', partNumber: 2 }, action: { status: 503 } });
    const results = await Promise.allSettled(parts.map((b, i) => put(key, id, i + 1, b)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(s3Failure((results[1] as PromiseRejectedResult).reason)).toEqual({ code: 'ServiceUnavailable', status: 503 });
    expect(await partNumbers(key, id)).toEqual([1, 3]);
    const p2 = await put(key, id, 2, parts[1]);
    const done = [(results[0] as PromiseFulfilledResult<CompletedPart>).value, p2, (results[2] as PromiseFulfilledResult<CompletedPart>).value];
    await complete(key, id, done);
    expect(md5Hex((await bucket.file(key).download())[0])).toBe(md5Hex(Buffer.concat(parts)));
  });

  it("lets the SDK's own retry carry a part through one 503", async () => {
    const key = 'retry/obj';
    const id = await start(key);
    await fault({ match: { op: 'part' }, action: { status: 503 } });
    const p1 = await put(key, id, 1, Buffer.from('retried'), { client: retrying });
    expect(p1.ETag).toBe(`"${md5Hex(Buffer.from('retried'))}"`);
    expect((await ourRules())[0]).toMatchObject({ hits: 1 });
    await complete(key, id, [p1]);
  });

  it('a part reset mid-body stores nothing for that part; an earlier upload of the number survives', async () => {
    const key = 'reset/obj';
    const [first, second] = randomParts(PART_MIN, PART_MIN);
    const id = await start(key);
    const kept = await put(key, id, 1, first);
    await fault({ match: { op: 'part', partNumber: 1 }, action: { reset: 'mid-body' } });
    await expect(put(key, id, 1, second)).rejects.toThrow();
    const listed = await once.send(new ListPartsCommand({ Bucket: bucket.name, Key: key, UploadId: id }));
    expect(listed.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([[1, kept.ETag]]);
    await complete(key, id, [kept]);
    expect((await bucket.file(key).download())[0].equals(first)).toBe(true);
  });

  it('corrupts one part in transit: Content-MD5 catches it (BadDigest); without it the part is stored with its own ETag', async () => {
    const key = 'corrupt/obj';
    const body = randomParts(300_000)[0];
    const id = await start(key);
    await fault({ match: { op: 'part', partNumber: 3 }, times: 2, action: { corrupt: true } });
    expect(await put(key, id, 3, body).catch(s3Failure)).toEqual({ code: 'BadDigest', status: 400 });
    expect(await partNumbers(key, id)).toEqual([]);
    const unchecked = await put(key, id, 3, body, { md5: false });
    // What a client must compare: the ETag is the MD5 of what GCS received, not of what was sent.
    expect(unchecked.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(unchecked.ETag).not.toBe(`"${md5Hex(body)}"`);
  });

  it('storeCorrupt: a part accepted (Content-MD5 unchecked) and stored with a flipped byte, described by its own ETag', async () => {
    const key = 'store-corrupt/obj';
    const body = randomParts(1000)[0];
    const id = await start(key);
    await fault({ match: { op: 'part' }, action: { storeCorrupt: true } });
    const p = await put(key, id, 1, body);
    expect(p.ETag).not.toBe(`"${md5Hex(body)}"`);
    await complete(key, id, [p]);
    const [stored] = await bucket.file(key).download();
    expect(`"${md5Hex(stored)}"`).toBe(p.ETag);
  });

  it('a completion whose response is lost has completed: the object is there, a retried completion answers NoSuchUpload', async () => {
    const key = 'lost-complete/obj';
    const id = await start(key);
    const p1 = await put(key, id, 1, Buffer.from('whole'));
    await fault({ match: { op: 'complete' }, action: { reset: 'before-response' } });
    await expect(complete(key, id, [p1])).rejects.toThrow();
    expect((await bucket.file(key).download())[0].toString()).toBe('whole');
    expect(await complete(key, id, [p1]).catch(s3Failure)).toEqual({ code: 'NoSuchUpload', status: 404 });
  });

  it('answers injected statuses on initiate, list and abort as XML errors', async () => {
    await fault({ match: { op: 'initiate', prefix: 'init/' }, action: { status: 429 } });
    expect(await start('init/obj').catch(s3Failure)).toEqual({ code: 'SlowDown', status: 429 });
    const id = await start('list/obj');
    await fault({ match: { op: 'listParts' }, action: { status: 500 } });
    const res = await fetch(`${endpoint}/${bucket.name}/list/obj?uploadId=${id}`);
    expect([res.status, res.headers.get('content-type')]).toEqual([500, 'application/xml; charset=UTF-8']);
    expect(await res.text()).toMatch(/<Error><Code>InternalError<\/Code><Message>injected fault: HTTP 500<\/Message><\/Error>/);
    await fault({ match: { op: 'abort' }, action: { status: 503 } });
    expect((await fetch(`${endpoint}/${bucket.name}/list/obj?uploadId=${id}`, { method: 'DELETE' })).status).toBe(503);
    expect((await fetch(`${endpoint}/${bucket.name}/list/obj?uploadId=${id}`, { method: 'DELETE' })).status).toBe(204);
  });
});
