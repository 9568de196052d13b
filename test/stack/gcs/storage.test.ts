// Conformance: @google-cloud/storage 7.x against our emulator, the client our workers use.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CRC32C, Storage, type Bucket } from '@google-cloud/storage';
import { uniqueName } from '../../helpers/names.js';

const MiB = 1024 * 1024;
const storage = new Storage({ apiEndpoint: process.env.OTT_GCS_ENDPOINT, projectId: 'ott-local' });
let bucket: Bucket;

const blocks = new Map<number, Buffer>();

/**
 * The same bytes for the same (size, seed), produced chunk by chunk, never the whole object in memory:
 * a random 1 MiB block per seed, each copy stamped with its chunk number so no two chunks are equal.
 */
function generated(totalBytes: number, seed: number): Readable {
  if (!blocks.has(seed)) blocks.set(seed, randomBytes(MiB));
  const block = blocks.get(seed)!;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= totalBytes) return void this.push(null);
      const n = Math.min(MiB, totalBytes - sent);
      const buf = Buffer.from(block.subarray(0, n));
      buf.writeUInt32LE(sent / MiB, 0);
      sent += n;
      this.push(buf);
    },
  });
}

/** The client library's own CRC32C, independent of the emulator's. */
function crc32cOf(text: string): string {
  const c = new CRC32C();
  c.update(Buffer.from(text));
  return c.toString();
}

async function md5Of(stream: Readable): Promise<{ md5: string; bytes: number }> {
  const h = createHash('md5');
  let bytes = 0;
  for await (const c of stream) {
    h.update(c as Buffer);
    bytes += (c as Buffer).length;
  }
  return { md5: h.digest('base64'), bytes };
}

beforeAll(async () => {
  [bucket] = await storage.createBucket(uniqueName('gcst'));
});

describe('@google-cloud/storage against the GCS emulator', () => {
  it('creates, gets and lists buckets; a second create conflicts; a missing bucket is 404', async () => {
    const [exists] = await bucket.exists();
    expect(exists).toBe(true);
    const [buckets] = await storage.getBuckets();
    expect(buckets.map((b) => b.name)).toContain(bucket.name);
    await expect(storage.createBucket(bucket.name)).rejects.toMatchObject({ code: 409 });
    await expect(storage.bucket('no-such-bucket-ott').file('x').save('x', { resumable: false })).rejects.toMatchObject({ code: 404 });
  });

  it('uploads simply and downloads whole and by range, with md5 and crc32c as GCS computes them', async () => {
    const file = bucket.file('simple/hello.txt');
    await file.save('hello, world', { resumable: false, contentType: 'text/plain' });
    const [meta] = await file.getMetadata();
    expect(meta.size).toBe('12');
    expect(meta.md5Hash).toBe(createHash('md5').update('hello, world').digest('base64'));
    expect(meta.crc32c).toBe(crc32cOf('hello, world'));
    expect(meta.contentType).toBe('text/plain');
    expect(typeof meta.generation).toBe('string');
    const [whole] = await file.download();
    expect(whole.toString()).toBe('hello, world');
    const [part] = await file.download({ start: 7, end: 11 });
    expect(part.toString()).toBe('world');
  });

  it('uploads 64 MiB resumably in chunks and reads the same bytes back', async () => {
    const file = bucket.file('big/64mib.bin');
    const expected = await md5Of(generated(64 * MiB, 7));
    await pipeline(generated(64 * MiB, 7), file.createWriteStream({ resumable: true, chunkSize: 16 * MiB }));
    const [meta] = await file.getMetadata();
    expect(meta.size).toBe(String(64 * MiB));
    expect(meta.md5Hash).toBe(expected.md5);
    expect(await md5Of(file.createReadStream())).toEqual(expected);
  });

  it('uploads resumably in a single request (no chunkSize) and validates on download', async () => {
    const file = bucket.file('big/one-request.bin');
    await pipeline(generated(3 * MiB, 9), file.createWriteStream({ resumable: true }));
    const expected = await md5Of(generated(3 * MiB, 9));
    expect(await md5Of(file.createReadStream({ validation: 'md5' }))).toEqual(expected);
  });

  it('lists in pages and with delimiter prefixes', async () => {
    for (const n of ['list/a', 'list/b', 'list/c/1', 'list/c/2', 'list/d', 'list/e/x']) await bucket.file(n).save('x', { resumable: false });
    const names: string[] = [];
    let query: Record<string, unknown> | null = { prefix: 'list/', maxResults: 2, autoPaginate: false };
    let pages = 0;
    while (query) {
      const [files, next]: [Array<{ name: string }>, Record<string, unknown> | null] = (await bucket.getFiles(query)) as never;
      names.push(...files.map((f) => f.name));
      expect(files.length).toBeLessThanOrEqual(2);
      query = next;
      pages++;
    }
    expect(names).toEqual(['list/a', 'list/b', 'list/c/1', 'list/c/2', 'list/d', 'list/e/x']);
    expect(pages).toBe(3);
    const [files, , resp] = (await bucket.getFiles({ prefix: 'list/', delimiter: '/', autoPaginate: false })) as unknown as [Array<{ name: string }>, unknown, { prefixes?: string[] }];
    expect(files.map((f) => f.name)).toEqual(['list/a', 'list/b', 'list/d']);
    expect(resp.prefixes).toEqual(['list/c/', 'list/e/']);
  });

  it('patches metadata, bumping metageneration and honouring ifMetagenerationMatch', async () => {
    const file = bucket.file('meta/obj');
    await file.save('m', { resumable: false, metadata: { metadata: { a: '1', b: '2' } } });
    const [after] = await file.setMetadata({ contentType: 'application/json', cacheControl: 'no-cache', metadata: { b: null, c: '3' } });
    expect(after.metageneration).toBe('2');
    expect(after.contentType).toBe('application/json');
    expect(after.cacheControl).toBe('no-cache');
    expect(after.metadata).toEqual({ a: '1', c: '3' });
    await expect(file.setMetadata({ contentLanguage: 'en' }, { ifMetagenerationMatch: 1 })).rejects.toMatchObject({ code: 412 });
  });

  it('refuses ifGenerationMatch: 0 on an existing object, and a stale generation', async () => {
    const file = bucket.file('pre/obj');
    await file.save('v1', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    await expect(file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })).rejects.toMatchObject({ code: 412 });
    const [meta] = await file.getMetadata();
    await file.save('v2', { resumable: true, preconditionOpts: { ifGenerationMatch: Number(meta.generation) } });
    await expect(file.delete({ ifGenerationMatch: Number(meta.generation) })).rejects.toMatchObject({ code: 412 });
    expect((await file.download())[0].toString()).toBe('v2');
  });

  it('rejects an upload whose declared md5 is wrong and stores nothing', async () => {
    const file = bucket.file('bad/md5');
    const wrong = createHash('md5').update('something else').digest('base64');
    await expect(file.save('payload', { resumable: false, validation: false, metadata: { md5Hash: wrong } })).rejects.toMatchObject({ code: 400 });
    expect((await file.exists())[0]).toBe(false);
    await expect(file.save('payload', { resumable: true, validation: false, metadata: { md5Hash: wrong } })).rejects.toThrow();
    expect((await file.exists())[0]).toBe(false);
  });

  it('deletes, then the object is gone (404)', async () => {
    const file = bucket.file('del/obj');
    await file.save('d', { resumable: false });
    await file.delete();
    await expect(file.getMetadata()).rejects.toMatchObject({ code: 404 });
    await expect(file.delete()).rejects.toMatchObject({ code: 404 });
  });

  it('copies, rewrites and composes', async () => {
    const a = bucket.file('cmp/a');
    const b = bucket.file('cmp/b');
    await a.save('hello, ', { resumable: false });
    await b.save('world', { resumable: false });
    const [copy] = await a.copy(bucket.file('cmp/a-copy'));
    expect((await copy.download())[0].toString()).toBe('hello, ');
    const [composed] = await bucket.combine([a, b], 'cmp/ab');
    const [meta] = await composed.getMetadata();
    expect(meta.componentCount).toBe(2);
    expect(meta.md5Hash).toBeUndefined();
    expect(meta.crc32c).toBe(crc32cOf('hello, world'));
    expect((await composed.download())[0].toString()).toBe('hello, world');
  });

  it('keeps odd names intact: spaces, +, %, #, ?, unicode, //, trailing dot', async () => {
    const names = ['odd/a b', 'odd/a+b', 'odd/100%', 'odd/50%25', 'odd/#hash', 'odd/what?x=1&y', 'odd/ünï/日本語', 'odd//double//slash', 'odd/trailing.', 'odd/emoji 😀'];
    for (const n of names) await bucket.file(n).save(`body of ${n}`, { resumable: false });
    const [files] = await bucket.getFiles({ prefix: 'odd/' });
    expect(files.map((f) => f.name).sort()).toEqual([...names].sort());
    for (const n of names) expect((await bucket.file(n).download())[0].toString()).toBe(`body of ${n}`);
  });
});
