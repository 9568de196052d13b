// Large objects in parallel parts, on the real stack (S3 behind the CDN fixture, the GCS emulator's XML API
// multipart uploads), with the threshold lowered so objects of a few parts are "large": ranges aligned with
// a multipart source's own parts (uniform and not), a fault in one part retried alone (CDN and GCS side), a
// lost complete, corruption caught before anything is assembled, a writer racing us, shutdown mid-object.
// Whatever happens, no upload is left in progress on the emulator, and copies are judged by compareCopies.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import type { ObjectEntry } from '../../src/common/messages.js';
import { createCopier } from '../../src/worker/copy/index.js';
import { run } from '../../src/worker/cdnTransfer.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { crc32c, crc32cBase64 } from '../../src/worker/copy/crc32c.js';
import { waitFor } from '../helpers/wait.js';
import { addDirRow, bytesFor, cdnEndpoint, createWorld, dirCounters, gcsEndpoint, publish, putMultipart, putObject, readGcs, worldContext, type World } from './cdnTransferHarness.js';

const MiB = 1024 * 1024;
const PART = 5 * MiB;
let w: World;

beforeAll(async () => {
  w = await createWorld('cpar', { parallel_threshold_bytes: 8 * MiB, parallel_part_bytes: PART, parallel_parts: 3, max_attempts: 4, retry_budget_ms: 60_000 });
});
afterEach(async () => {
  await clearFaults(cdnEndpoint(), w.s3Bucket);
  await clearFaults(gcsEndpoint(), w.gcsBucket);
  // Nothing half-written survives: whatever the test did, no multipart upload is left in progress.
  expect(await uploadsInProgress()).toEqual([]);
});

async function uploadsInProgress(): Promise<string[]> {
  const xml = await (await fetch(`${gcsEndpoint()}/${w.gcsBucket}?uploads`)).text();
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
}

async function copier() {
  const ctx = await worldContext(w);
  const lines: string[] = [];
  const log = createLogger({ labels: {}, level: 'DEBUG', write: (l) => lines.push(l) });
  const c = createCopier({ ...ctx, log });
  const said = (message: string): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === message);
  return { c, said, close: async () => Promise.allSettled([c.close(), ctx.db.end(), ctx.clients.close()]) };
}

const gcsName = (key: string): string => key.replace(/^data\//, 'copy/');

/** The emulator's word on one object: its resource (componentCount: how many parts it was assembled from). */
async function gcsResource(key: string): Promise<Record<string, unknown> | undefined> {
  const r = await fetch(`${gcsEndpoint()}/storage/v1/b/${w.gcsBucket}/o/${encodeURIComponent(gcsName(key))}`);
  return r.status === 404 ? undefined : ((await r.json()) as Record<string, unknown>);
}

/** The independent judge, on one folder of the source. */
async function judge(prefix: string): Promise<Awaited<ReturnType<typeof compareCopies>>> {
  return compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: prefix, gcsBucket: w.gcsBucket, gcsPrefix: gcsName(prefix), metadata: true });
}

async function hits(endpoint: string, bucket: string): Promise<number[]> {
  return (await listFaults(endpoint, bucket)).map((r) => r.hits);
}

const go = new AbortController().signal;

describe('large objects in parallel parts', () => {
  it('parallel_objects (1 by default): while one object goes in parts, another large one goes as one stream', async () => {
    const a = await putObject(w, 'data/slots/a.bin', 3 * PART);
    const b = await putObject(w, 'data/slots/b.bin', 3 * PART);
    const { c, close } = await copier();
    const outcomes = await Promise.all([c.copy(a, go), c.copy(b, go)]);
    expect(outcomes.map((o) => o.status)).toEqual(['copied', 'copied']);
    // Exactly one composite (assembled from parts); the other uploaded whole, with GCS's own MD5.
    const composite = await Promise.all([a, b].map(async (e) => (await gcsResource(e.key))!.componentCount !== undefined));
    expect(composite.filter(Boolean)).toHaveLength(1);
    expect(await judge('data/slots/')).toMatchObject({ objects: 2, missing: [], different: [], extra: [] });
    await close();
  });

  it('a single-part source goes in parallel_part_bytes ranges, verified by its MD5 computed in order, the CRC32C combined from the parts', async () => {
    const e = await putObject(w, 'data/single/a.bin', 3 * PART + 12_345, { ContentType: 'video/mp4', Metadata: { origin: 'cam-1' } });
    const { c, said, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'md5', attempts: 1 });
    const r = await gcsResource(e.key);
    // 4 parts: 3 of 5 MiB and the rest; a composite object has no md5Hash, only a crc32c.
    expect(r).toMatchObject({ componentCount: 4, size: String(e.size), contentType: 'video/mp4', metadata: { 'ott-source-etag': e.etag.replace(/"/g, ''), 'ott-verified-by': 'md5', origin: 'cam-1' } });
    expect(r!.md5Hash).toBeUndefined();
    // GCS's crc32c of the composite (the emulator's own JavaScript CRC32C) is the native CRC32C of the source bytes.
    expect(r!.crc32c).toBe(crc32cBase64(crc32c(bytesFor(e.key, e.size))));
    expect(await judge('data/single/')).toMatchObject({ objects: 1, missing: [], different: [], metadataLost: [], extra: [] });
    expect(said('cdnTransfer: retrying part')).toEqual([]);
    // Below the threshold: one stream, as before (not composite, GCS has its MD5).
    const small = await putObject(w, 'data/single/small.bin', 2 * MiB);
    expect(await c.copy(small, go)).toMatchObject({ status: 'copied', verifiedBy: 'md5' });
    expect((await gcsResource(small.key))!.componentCount).toBeUndefined();
    await close();
  });

  it('holds at most parallel_parts parts: a part done ahead of a slow one keeps its slot until the MD5 reaches it', async () => {
    const e = await putObject(w, 'data/bounded/s.bin', 5 * PART);
    const slow = await addFaults(gcsEndpoint(), { match: { op: 'part', bucket: w.gcsBucket, partNumber: 1 }, times: 1, action: { delayMs: 4000 } });
    const gets = await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, times: 1000, action: { delayMs: 0 } });
    const { c, close } = await copier();
    const copying = c.copy(e, go);
    const stored = async (): Promise<number[]> => {
      const xml = await (await fetch(`${gcsEndpoint()}/${w.gcsBucket}?uploads`)).text();
      const id = /<UploadId>([^<]+)<\/UploadId>/.exec(xml)?.[1];
      if (!id) return [];
      const parts = await (await fetch(`${gcsEndpoint()}/${w.gcsBucket}/${gcsName(e.key)}?uploadId=${id}`)).text();
      return [...parts.matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
    };
    await waitFor('parts 2 and 3 stored while part 1 is held', async () => (await stored()).join() === '2,3', 30_000);
    // Asserting that something does not happen needs a window: parts 4 and 5 would start within
    // milliseconds of a slot freeing; half a second without them shows the slots are still held.
    await new Promise((r) => setTimeout(r, 500));
    expect((await listFaults(cdnEndpoint(), w.s3Bucket)).find((r) => r.id === gets[0])!.hits).toBe(3);
    expect((await listFaults(gcsEndpoint(), w.gcsBucket)).find((r) => r.id === slow[0])!.hits).toBe(1);
    expect(await copying).toMatchObject({ status: 'copied', verifiedBy: 'md5', attempts: 1 });
    expect((await listFaults(cdnEndpoint(), w.s3Bucket)).find((r) => r.id === gets[0])!.hits).toBe(5);
    await close();
  });

  it.each([
    ['uniform', [PART, PART, PART]],
    ['non-uniform', [PART, 7 * MiB, PART, 1024]],
  ])('a multipart source (%s parts) is copied in its own S3 parts, verified by its multipart ETag', async (kind, sizes) => {
    const e = await putMultipart(w, `data/multi-${kind}/m.bin`, sizes, { ContentType: 'application/x-tar' });
    const { c, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'multipart-etag', attempts: 1 });
    // One GCS part per S3 part: the ranges are S3's (7 MiB is no multiple of parallel_part_bytes).
    expect(await gcsResource(e.key)).toMatchObject({ componentCount: sizes.length, size: String(e.size), metadata: { 'ott-verified-by': 'multipart-etag' } });
    expect(await judge(`data/multi-${kind}/`)).toMatchObject({ objects: 1, missing: [], different: [], metadataLost: [] });
    await close();
  });

  it('a CDN fault in one part: that part alone is fetched and sent again', async () => {
    const e = await putMultipart(w, 'data/cdnfault/m.bin', [PART, PART, PART, 100]);
    // The second GET of the object breaks halfway: one part, whichever it is.
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, after: 1, times: 1, action: { reset: 'mid-body' } });
    const gets = await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, times: 1000, action: { delayMs: 0 } });
    const { c, said, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'multipart-etag', attempts: 2 });
    expect(said('cdnTransfer: retrying part')).toHaveLength(1);
    expect(said('cdnTransfer: retrying object')).toHaveLength(0);
    // 4 parts, one of them twice: nothing else was fetched again (the first matching rule takes a request,
    // so the counting rule saw every GET but the one the reset took).
    expect((await listFaults(cdnEndpoint(), w.s3Bucket)).find((r) => r.id === gets[0])!.hits).toBe(4);
    expect(await judge('data/cdnfault/')).toMatchObject({ objects: 1, missing: [], different: [] });
    await close();
  });

  it('GCS faults on one part (503, bytes flipped in transit): that part alone is sent again', async () => {
    const e = await putObject(w, 'data/gcsfault/s.bin', 3 * PART);
    await addFaults(gcsEndpoint(), [
      { match: { op: 'part', bucket: w.gcsBucket, partNumber: 2 }, times: 1, action: { status: 503 } },
      { match: { op: 'part', bucket: w.gcsBucket, partNumber: 3 }, times: 1, action: { corrupt: true } },
    ]);
    const { c, said, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'md5', attempts: 3 });
    const retried = said('cdnTransfer: retrying part');
    expect(retried.map((l) => l.part).sort()).toEqual([2, 3]);
    // A single-part source's part has no MD5 of its own (the whole object's, in order, checks the ETag):
    // GCS's CRC32C of the part is what catches the flipped bytes.
    expect(retried.find((l) => l.part === 3)!.reason).toMatch(/GCS stored part 3 with CRC32C .*we sent/);
    expect(await hits(gcsEndpoint(), w.gcsBucket)).toEqual([1, 1]);
    expect(await judge('data/gcsfault/')).toMatchObject({ objects: 1, missing: [], different: [] });
    await close();
  });

  it('bytes the CDN corrupts are never assembled: the upload is aborted and the object copied again', async () => {
    const e = await putMultipart(w, 'data/corrupt/m.bin', [PART, PART]);
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, times: 1, action: { corrupt: true } });
    // Count completes: only the second attempt's may happen.
    const completes = await addFaults(gcsEndpoint(), { match: { op: 'complete', bucket: w.gcsBucket }, times: 1000, action: { delayMs: 0 } });
    const { c, said, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'multipart-etag', attempts: 2 });
    expect(said('cdnTransfer: retrying object')[0].reason).toMatch(/multipart ETag .* expected/);
    expect((await listFaults(gcsEndpoint(), w.gcsBucket)).find((r) => r.id === completes[0])!.hits).toBe(1);
    expect(await judge('data/corrupt/')).toMatchObject({ objects: 1, different: [] });
    await close();
  });

  it('a complete whose answer is lost: the object is found complete and verified, not uploaded again', async () => {
    const e = await putObject(w, 'data/lost/s.bin', 2 * PART + 1);
    await addFaults(gcsEndpoint(), { match: { op: 'complete', bucket: w.gcsBucket }, times: 1, action: { reset: 'before-response' } });
    const { c, said, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'md5', attempts: 1 });
    expect(said('cdnTransfer: retrying object')).toHaveLength(0);
    expect(await judge('data/lost/')).toMatchObject({ objects: 1, different: [] });
    await close();
  });

  it('a complete GCS refuses (503) is sent again alone: no part is uploaded twice', async () => {
    const e = await putObject(w, 'data/refused/s.bin', 2 * PART + 1);
    await addFaults(gcsEndpoint(), { match: { op: 'complete', bucket: w.gcsBucket }, times: 1, action: { status: 503 } });
    const parts = await addFaults(gcsEndpoint(), { match: { op: 'part', bucket: w.gcsBucket }, times: 1000, action: { delayMs: 0 } });
    const { c, said, close } = await copier();
    expect(await c.copy(e, go)).toMatchObject({ status: 'copied', verifiedBy: 'md5', attempts: 2 });
    expect(said('cdnTransfer: retrying multipart complete')[0].reason).toMatch(/HTTP 503/);
    expect(said('cdnTransfer: retrying object')).toHaveLength(0);
    expect((await listFaults(gcsEndpoint(), w.gcsBucket)).find((r) => r.id === parts[0])!.hits).toBe(3);
    expect(await judge('data/refused/')).toMatchObject({ objects: 1, different: [] });
    await close();
  });

  it('another writer stores the object while our parts upload: no overwrite, the upload is aborted', async () => {
    const e = await putObject(w, 'data/race/s.bin', 2 * PART);
    const name = gcsName(e.key);
    const held = await addFaults(gcsEndpoint(), { match: { op: 'part', bucket: w.gcsBucket, partNumber: 2 }, times: 1, action: { delayMs: 3000 } });
    const { c, close } = await copier();
    const copying = c.copy(e, go);
    await waitFor('part 2 held at the emulator', async () => (await listFaults(gcsEndpoint(), w.gcsBucket)).find((r) => r.id === held[0])!.hits === 1, 30_000);
    const other = await fetch(`${gcsEndpoint()}/upload/storage/v1/b/${w.gcsBucket}/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', body: new Uint8Array(bytesFor(e.key, e.size)) });
    const theirs = ((await other.json()) as { generation: string }).generation;
    expect(await copying).toMatchObject({ status: 'skipped', why: 'written-meanwhile' });
    expect((await gcsResource(e.key))!.generation).toBe(theirs);
    await close();
  });

  it('shutdown mid-object aborts the upload: nothing in GCS, nothing in progress, and the next copy completes it', async () => {
    const e = await putObject(w, 'data/stop/s.bin', 3 * PART);
    const held = await addFaults(gcsEndpoint(), { match: { op: 'part', bucket: w.gcsBucket, partNumber: 3 }, times: 1, action: { delayMs: 20_000 } });
    const { c, close } = await copier();
    const stop = new AbortController();
    const copying = c.copy(e, stop.signal);
    await waitFor('part 3 in flight', async () => (await listFaults(gcsEndpoint(), w.gcsBucket)).find((r) => r.id === held[0])!.hits === 1, 30_000);
    expect(await uploadsInProgress()).toEqual([gcsName(e.key)]);
    stop.abort();
    expect(await copying).toEqual<Awaited<typeof copying>>({ status: 'aborted', key: e.key, bytes: e.size });
    expect(await readGcs(w, gcsName(e.key))).toBeUndefined();
    expect(await uploadsInProgress()).toEqual([]);
    expect(await c.copy(e as ObjectEntry, go)).toMatchObject({ status: 'copied' });
    await close();
  });

  it('SIGTERM mid-object in cdnTransfer: past the grace period the upload is aborted, nothing counted, the message nacked; the redelivery copies it', async () => {
    const ctx = await worldContext(w, { grace_period_seconds: 1 });
    const dir = 'data/sigterm/';
    await addDirRow(ctx, dir);
    const e = await putObject(w, `${dir}big.bin`, 3 * PART + 7);
    const held = await addFaults(gcsEndpoint(), { match: { op: 'part', bucket: w.gcsBucket, partNumber: 3 }, times: 1, action: { delayMs: 20_000 } });
    await publish(w, dir, [e]);
    const running = run(ctx);
    await waitFor('part 3 in flight', async () => (await listFaults(gcsEndpoint(), w.gcsBucket)).find((r) => r.id === held[0])!.hits === 1, 30_000);
    expect(await uploadsInProgress()).toEqual([gcsName(e.key)]);
    ctx.abort(); // what SIGTERM does through shutdownSignal()
    expect(await running).toMatchObject({ copied: 0, failed: 0, acked: 0, nacked: 1 });
    expect(await uploadsInProgress()).toEqual([]);
    expect(await readGcs(w, gcsName(e.key))).toBeUndefined();
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 0, copied_bytes: 0, failed_objects: 0 });
    const next = await worldContext(w, {}, ctx);
    expect(await run(next, { exitWhenIdleMs: 1500 })).toMatchObject({ copied: 1, failed: 0, acked: 1 });
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 1, copied_bytes: e.size });
    expect(await judge(dir)).toMatchObject({ objects: 1, missing: [], different: [] });
    await Promise.allSettled([ctx.db.end(), next.db.end(), ctx.clients.close(), next.clients.close()]);
  });

  it('copy_buffer_bytes of one slab: a copy in parts and a resumable one take turns for it, both copied, none deadlocked', async () => {
    const a = await putObject(w, 'data/oneslab/a.bin', 3 * PART + 1);
    const b = await putObject(w, 'data/oneslab/b.bin', 3 * PART + 2);
    const ctx = await worldContext(w);
    // One 8 MiB slab in all (the default chunk): the parallel copy's parts ahead share it, the resumable
    // upload sends and fills one buffer in turn.
    const c = createCopier({ ...ctx, config: { ...ctx.config, copy_buffer_bytes: 8 * MiB } });
    expect(c.deps.slabs.slabs).toBe(1);
    const outcomes = await Promise.all([c.copy(a, go), c.copy(b, go)]);
    expect(outcomes.map((o) => o.status)).toEqual(['copied', 'copied']);
    expect(c.deps.slabs.available).toBe(1); // given back
    expect(await judge('data/oneslab/')).toMatchObject({ objects: 2, missing: [], different: [], extra: [] });
    await Promise.allSettled([c.close(), ctx.db.end(), ctx.clients.close()]);
  });

  it('an SSE-KMS object (its ETag is no MD5) goes as one stream, not in parts', async () => {
    const e = await putObject(w, 'data/kms/k.bin', 2 * PART, { ServerSideEncryption: 'aws:kms' });
    const { c, close } = await copier();
    const o = await c.copy(e, go);
    expect(o).toMatchObject({ status: 'copied' });
    expect(['crc', 'size-only']).toContain((o as { verifiedBy: string }).verifiedBy);
    expect((await gcsResource(e.key))!.componentCount).toBeUndefined();
    expect(await judge('data/kms/')).toMatchObject({ objects: 1, different: [] });
    await close();
  });
});
