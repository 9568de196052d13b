// cdnTransfer under injected faults (table-driven, from the fixtures' fault tables): transient CDN and
// GCS failures are retried until the copy is correct; permanent ones reach the error topic with their
// reason; malformed and oversized messages reach the dead-letter topic; nothing crashes the worker.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/worker/cdnTransfer.js';
import { addFaults, clearFaults, listFaults, type FaultRule } from '../stack/faults.js';
import { addDirRow, bytesFor, cdnEndpoint, createWorld, dirCounters, drain, gcsEndpoint, listGcs, publish, publishRaw, putObject, readGcs, worldContext, type World } from './cdnTransferHarness.js';
import type { ObjectEntry } from '../../src/common/messages.js';

const MiB = 1024 * 1024;
const tunables = { singleRequestMaxBytes: 1 * MiB, chunkBytes: 256 * 1024, optimisticMaxBytes: 64 * 1024 };

let w: World;
beforeAll(async () => {
  w = await createWorld('cdnf', { max_attempts: 5, retry_budget_ms: 60_000 });
});
afterEach(async () => {
  await clearFaults(cdnEndpoint(), w.s3Bucket);
  await clearFaults(gcsEndpoint(), w.gcsBucket);
});

/** This test's rules on both fixtures with their hits, listed by this file's buckets (the fixtures are shared). */
async function ourRules(): Promise<Awaited<ReturnType<typeof listFaults>>> {
  return [...(await listFaults(cdnEndpoint(), w.s3Bucket)), ...(await listFaults(gcsEndpoint(), w.gcsBucket))];
}

// Each case: an object, the fault that hits it first, and where.
const transient: Array<{ name: string; size: number; where: 'cdn' | 'gcs'; rule: (key: string, name: string, w: World) => FaultRule }> = [
  { name: 'cdn-503.bin', size: 20_000, where: 'cdn', rule: (key, _n, w) => ({ match: { op: 'get', bucket: w.s3Bucket, prefix: key }, times: 2, action: { status: 503 } }) },
  { name: 'cdn-reset.bin', size: 200_000, where: 'cdn', rule: (key, _n, w) => ({ match: { op: 'get', bucket: w.s3Bucket, prefix: key }, action: { reset: 'mid-body' } }) },
  { name: 'cdn-truncate.bin', size: 300_000, where: 'cdn', rule: (key, _n, w) => ({ match: { op: 'get', bucket: w.s3Bucket, prefix: key }, action: { truncate: true } }) },
  { name: 'cdn-truncate-big.bin', size: 2 * MiB + 1, where: 'cdn', rule: (key, _n, w) => ({ match: { op: 'get', bucket: w.s3Bucket, prefix: key }, action: { truncate: true } }) },
  { name: 'cdn-corrupt-small.bin', size: 30_000, where: 'cdn', rule: (key, _n, w) => ({ match: { op: 'get', bucket: w.s3Bucket, prefix: key }, action: { corrupt: true } }) },
  { name: 'cdn-corrupt-big.bin', size: 2 * MiB + 3, where: 'cdn', rule: (key, _n, w) => ({ match: { op: 'get', bucket: w.s3Bucket, prefix: key }, action: { corrupt: true } }) },
  { name: 'gcs-503.bin', size: 50_000, where: 'gcs', rule: (_k, name, w) => ({ match: { op: 'upload', bucket: w.gcsBucket, prefix: name }, times: 2, action: { status: 503 } }) },
  { name: 'gcs-reset-single.bin', size: 500_000, where: 'gcs', rule: (_k, name, w) => ({ match: { op: 'upload', bucket: w.gcsBucket, prefix: name }, action: { reset: 'mid-body' } }) },
  { name: 'gcs-reset-chunk.bin', size: 2 * MiB, where: 'gcs', rule: (_k, name, w) => ({ match: { op: 'upload', bucket: w.gcsBucket, prefix: name }, after: 3, action: { reset: 'mid-body' } }) },
  { name: 'gcs-503-chunk.bin', size: 2 * MiB, where: 'gcs', rule: (_k, name, w) => ({ match: { op: 'upload', bucket: w.gcsBucket, prefix: name }, after: 2, times: 2, action: { status: 503 } }) },
];

describe('cdnTransfer under faults', () => {
  it('retries CDN 503s, resets, truncated and corrupted bodies, and GCS 503s/resets, until every copy is correct', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/faults/';
    await addDirRow(ctx, dir);
    const entries: ObjectEntry[] = [];
    for (const c of transient) {
      const key = dir + c.name;
      entries.push(await putObject(w, key, c.size));
      await addFaults(c.where === 'cdn' ? cdnEndpoint() : gcsEndpoint(), c.rule(key, `copy/faults/${c.name}`, w));
    }
    await publish(w, dir, entries);
    const s = await run(ctx, { exitWhenIdleMs: 2000, tunables });
    expect(s).toMatchObject({ copied: entries.length, failed: 0, acked: 1, nacked: 0 });
    expect(await listGcs(w)).toEqual(entries.map((e) => `copy/faults/${e.key.slice(dir.length)}`).sort());
    for (const e of entries) {
      const g = await readGcs(w, `copy/faults/${e.key.slice(dir.length)}`);
      expect(g!.data.equals(bytesFor(e.key, e.size)), e.key).toBe(true);
    }
    const keysLogged = (message: string): string[] => ctx.logs.filter((l) => l.includes(message)).map((l) => JSON.parse(l).key as string);
    const retried = keysLogged('cdnTransfer: retrying object');
    const resumed = keysLogged('cdnTransfer: resuming download');
    // chunk faults are absorbed by the resumable session itself; broken downloads resume with a Range
    for (const c of transient.filter((t) => !t.name.includes('chunk'))) expect([...retried, ...resumed], c.name).toContain(dir + c.name);
    expect(resumed).toContain(`${dir}cdn-truncate-big.bin`);
    expect(retried).not.toContain(`${dir}cdn-truncate-big.bin`);
    // corrupt bodies are caught by our hashes, never stored
    expect(ctx.logs.some((l) => l.includes('cdn-corrupt-small.bin') && l.includes('hashes differ'))).toBe(true);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: entries.length, failed_objects: 0 });
    // Every fault fired as often as programmed: a copy that never met its fault would prove nothing.
    const rules = await ourRules();
    expect(rules.map((r) => r.match?.prefix).sort()).toEqual(transient.map((c) => (c.where === 'cdn' ? dir + c.name : `copy/faults/${c.name}`)).sort());
    expect(rules.filter((r) => r.remaining !== 0)).toEqual([]);
    await ctx.db.end();
  });

  it('deletes a copy GCS stored with different bytes than it was sent, and copies again', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/stored-bad/';
    await addDirRow(ctx, dir);
    const e = await putObject(w, `${dir}flipped.bin`, 40_000);
    await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket, prefix: 'copy/stored-bad/flipped.bin' }, action: { storeCorrupt: true } });
    await publish(w, dir, [e]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 1, failed: 0, acked: 1 });
    const g = await readGcs(w, 'copy/stored-bad/flipped.bin');
    expect(g!.data.equals(bytesFor(e.key, e.size))).toBe(true);
    const retry = ctx.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'cdnTransfer: retrying object' && l.key === e.key);
    expect(String(retry?.reason)).toMatch(/bad copy \(generation \d+\) was deleted/);
    expect((await ourRules()).map((r) => r.hits)).toEqual([1]);
    await ctx.db.end();
  });

  it('sends permanent failures (404, 403, a key outside the root) to the error topic with reason and attempts, and acks', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/perm/';
    await addDirRow(ctx, dir);
    const good = await putObject(w, `${dir}good.txt`, 100);
    const forbidden = await putObject(w, `${dir}forbidden.txt`, 100);
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: forbidden.key }, times: 10, action: { status: 403 } });
    const missing: ObjectEntry = { key: `${dir}missing.txt`, size: 10, etag: '"0123456789abcdef0123456789abcdef"', last_modified: new Date().toISOString() };
    const outside: ObjectEntry = { ...good, key: 'elsewhere/x.txt' };
    await publish(w, dir, [good, forbidden, missing, outside]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 1, failed: 3, acked: 1, nacked: 0 });
    const errors = (await drain(w.errorSub, 3)).map((m) => JSON.parse(m.data.toString()));
    const byKey = Object.fromEntries(errors.map((e) => [e.key, e]));
    expect(Object.keys(byKey).sort()).toEqual([forbidden.key, missing.key, outside.key].sort());
    expect(byKey[missing.key]).toMatchObject({ v: 1, kind: 'error', mode: 'cdnTransfer', dir_key: dir, attempts: 1, reason: expect.stringMatching(/HTTP 404.*not retryable/) });
    expect(byKey[forbidden.key]).toMatchObject({ attempts: 1, reason: expect.stringMatching(/HTTP 403/) });
    expect(byKey[outside.key].reason).toMatch(/outside s3_root_prefix/);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 1, failed_objects: 3 });
    expect((await ourRules()).map((r) => r.hits)).toEqual([1]); // the 403 came from the fault, once: not retried
    await ctx.db.end();
  });

  it('sends malformed and oversized messages to the dead-letter topic with the reason, and keeps working', async () => {
    const ctx = await worldContext(w);
    const ok = await putObject(w, 'data/dl/ok.txt', 10);
    await publishRaw(w, Buffer.from('{not json'));
    await publishRaw(w, Buffer.from(JSON.stringify({ v: 1, kind: 'objects', dir_key: 'data/dl/', objects: [{ key: 'x', size: -1, etag: 'e', last_modified: 'now' }] })));
    await publishRaw(w, Buffer.from(JSON.stringify({ v: 1, kind: 'objects', dir_key: 'data/dl/', objects: [{ key: 'data/dl/ok.txt', size: 10, etag: ok.etag, last_modified: ok.last_modified, pad: 'x'.repeat(9.5 * MiB) }] })));
    await publish(w, 'data/dl/', [ok]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ deadLettered: 3, copied: 1, failed: 0, acked: 4, nacked: 0 });
    const dead = await drain(w.deadSub, 3);
    const reasons = dead.map((m) => m.attributes.reason).sort();
    expect(reasons).toHaveLength(3);
    expect(reasons.some((r) => /not JSON/.test(r))).toBe(true);
    expect(reasons.some((r) => /schema: objects\.0\.size/.test(r))).toBe(true);
    expect(reasons.some((r) => /exceeds/.test(r))).toBe(true);
    expect(dead.find((m) => m.data.toString() === '{not json')).toBeDefined(); // the raw data, as received
    await ctx.db.end();
  });
});
