// The copy path on the real stack (S3 behind the CDN fixture, the GCS emulator): one retry budget per
// object copy, shared by resumable chunk resends, download resumes and whole attempts, so a step is never
// retried max_attempts² times (counted as the requests the fixtures' fault rules saw); and skips carry a
// reason from a closed set.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { createCopier } from '../../src/worker/copy/index.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';
import { bytesFor, cdnEndpoint, createWorld, gcsEndpoint, putMultipart, putObject, readGcs, worldContext, type World } from './cdnTransferHarness.js';

const MiB = 1024 * 1024;
const MAX_ATTEMPTS = 4;

let w: World;
beforeAll(async () => {
  w = await createWorld('cpr', { max_attempts: MAX_ATTEMPTS, retry_budget_ms: 60_000 });
});
afterEach(async () => {
  await clearFaults(cdnEndpoint(), w.s3Bucket);
  await clearFaults(gcsEndpoint(), w.gcsBucket);
});

async function copier(tunables: Parameters<typeof createCopier>[1] = {}) {
  const ctx = await worldContext(w);
  const lines: string[] = [];
  const log = createLogger({ labels: {}, level: 'DEBUG', write: (l) => lines.push(l) });
  const c = createCopier({ ...ctx, log }, tunables);
  const logged = (): Array<Record<string, unknown>> => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { c, logged, close: async () => Promise.allSettled([c.close(), ctx.db.end(), ctx.clients.close()]) };
}

async function hitsOf(endpoint: string, bucket: string): Promise<number> {
  const rules = (await listFaults(endpoint)).filter((r) => r.match?.bucket === bucket);
  expect(rules).toHaveLength(1);
  return rules[0].hits;
}

describe('one retry budget per object copy', () => {
  it('a chunk that keeps failing is sent at most max_attempts times in all, not max_attempts per chunk per attempt', async () => {
    const e = await putObject(w, 'data/budget/chunks.bin', 2 * MiB);
    // The session start and the first chunk pass; every later request of the upload answers 503.
    await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket, prefix: 'copy/budget/chunks.bin' }, after: 2, times: 1000, action: { status: 503 } });
    const { c, close } = await copier({ singleRequestMaxBytes: 256 * 1024, chunkBytes: 256 * 1024 });
    const o = await c.copy(e, new AbortController().signal);
    expect(o).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, reason: expect.stringMatching(/HTTP 503/) });
    // The chunk, then its resends (each a status query), then the session's cancel: nothing after.
    expect(await hitsOf(gcsEndpoint(), w.gcsBucket)).toBe(MAX_ATTEMPTS + 1);
    expect(await readGcs(w, 'copy/budget/chunks.bin')).toBeUndefined();
    await close();
  });

  it('download resumes draw from the same budget: a body that keeps breaking is fetched max_attempts times in all', async () => {
    const e = await putObject(w, 'data/budget/resets.bin', 2 * MiB);
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, times: 1000, action: { reset: 'mid-body' } });
    const { c, logged, close } = await copier({ singleRequestMaxBytes: 256 * 1024, chunkBytes: 256 * 1024 });
    const o = await c.copy(e, new AbortController().signal);
    expect(o).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
    expect(await hitsOf(cdnEndpoint(), w.s3Bucket)).toBe(MAX_ATTEMPTS);
    expect(logged().filter((l) => l.message === 'cdnTransfer: resuming download')).toHaveLength(MAX_ATTEMPTS - 1);
    expect(logged().filter((l) => l.message === 'cdnTransfer: retrying object')).toHaveLength(0);
    await close();
  });

  it('a small object (read whole) whose download breaks resumes from the byte it reached, not from 0', async () => {
    const e = await putObject(w, 'data/budget/small-reset.bin', 300_000);
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, times: 1, action: { reset: 'mid-body' } });
    const { c, logged, close } = await copier();
    expect(await c.copy(e, new AbortController().signal)).toMatchObject({ status: 'copied', attempts: 2 });
    expect(await hitsOf(cdnEndpoint(), w.s3Bucket)).toBe(1); // the fault, once
    const resumed = logged().filter((l) => l.message === 'cdnTransfer: resuming download');
    expect(resumed).toHaveLength(1);
    expect(resumed[0].at_byte).toBeGreaterThan(0);
    expect(logged().filter((l) => l.message === 'cdnTransfer: retrying object')).toHaveLength(0);
    expect((await readGcs(w, 'copy/budget/small-reset.bin'))!.data.equals(bytesFor(e.key, e.size))).toBe(true);
    await close();
  });

  it('a few faults across steps still end in a verified copy', async () => {
    const e = await putObject(w, 'data/budget/mixed.bin', 2 * MiB + 5);
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: e.key }, times: 1, action: { reset: 'mid-body' } });
    await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket, prefix: 'copy/budget/mixed.bin' }, after: 3, times: 1, action: { status: 503 } });
    const { c, close } = await copier({ singleRequestMaxBytes: 256 * 1024, chunkBytes: 256 * 1024 });
    expect(await c.copy(e, new AbortController().signal)).toMatchObject({ status: 'copied', attempts: 3 });
    expect(await hitsOf(cdnEndpoint(), w.s3Bucket)).toBe(1);
    expect(await hitsOf(gcsEndpoint(), w.gcsBucket)).toBe(1);
    expect((await readGcs(w, 'copy/budget/mixed.bin'))!.data.equals(bytesFor(e.key, e.size))).toBe(true);
    await close();
  });
});

describe('a throttled write waits for the pacer', () => {
  // The pacer is cdnTransfer's (pace.ts); here one that records what the copy asked of it and holds
  // each retry for HOLD_MS, as a fleet pause would.
  const HOLD_MS = 1500;
  function pacer() {
    const p = { throttles: 0, takes: [] as number[], take: async (signal: AbortSignal) => {
      p.takes.push(Date.now());
      await new Promise((r) => setTimeout(r, HOLD_MS));
      if (signal.aborted) throw signal.reason;
    }, throttled: () => void p.throttles++ };
    return p;
  }

  for (const [what, size, tunables] of [
    ['a small object (read whole, one write)', 16 * 1024, {}],
    ['a resumable chunk', 600 * 1024, { singleRequestMaxBytes: 256 * 1024, chunkBytes: 256 * 1024 }],
  ] as const) {
    it(`${what}: the resend after a 429 goes only when the pacer lets it`, async () => {
      const e = await putObject(w, `data/pace/${size}.bin`, size);
      const name = `copy/pace/${size}.bin`;
      await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket, prefix: name }, after: size > 256 * 1024 ? 2 : 0, times: 1, action: { status: 429 } });
      const p = pacer();
      const { c, close } = await copier({ ...tunables, pacer: p });
      const o = await c.copy(e, new AbortController().signal);
      expect(o).toMatchObject({ status: 'copied' });
      expect(await hitsOf(gcsEndpoint(), w.gcsBucket)).toBe(1);
      // The GCS client told the pacer, and the one resend waited for it (a backoff alone is < 200 ms).
      expect(p.throttles).toBe(1);
      expect(p.takes).toHaveLength(1);
      const obj = await readGcs(w, name);
      expect(obj!.data.equals(bytesFor(e.key, e.size))).toBe(true);
      expect(Date.parse(String((obj!.meta as { timeCreated?: string }).timeCreated))).toBeGreaterThanOrEqual(p.takes[0] + HOLD_MS);
      await close();
    });
  }

  it('a failure that is no throttle retries after its backoff alone', async () => {
    const e = await putObject(w, 'data/pace/reset.bin', 16 * 1024);
    await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket, prefix: 'copy/pace/reset.bin' }, times: 1, action: { reset: 'before-response' } });
    const p = pacer();
    const { c, close } = await copier({ pacer: p });
    // The emulator stored it before cutting the answer: the retry's optimistic write finds it (a 412).
    expect(await c.copy(e, new AbortController().signal)).toMatchObject({ status: 'skipped', why: 'same-md5' });
    expect(p.takes).toHaveLength(0);
    await close();
  });
});

describe('skip reasons', () => {
  it('say why an object was not copied, from a closed set', async () => {
    const small = await putObject(w, 'data/skip/small.txt', 1000);
    const big = await putObject(w, 'data/skip/big.bin', 300_000);
    const multi = await putMultipart(w, 'data/skip/multi.bin', [5 * MiB, 1000]);
    const first = await copier();
    for (const e of [small, big, multi]) expect(await first.c.copy(e, new AbortController().signal), e.key).toMatchObject({ status: 'copied' });
    await first.close();
    // Small objects are written optimistically (ifGenerationMatch=0): GCS answers 412 and the look after
    // it finds the same object; larger ones are looked up first.
    const again = await copier({ optimisticMaxBytes: 64 * 1024 });
    const signal = new AbortController().signal;
    expect(await again.c.copy(small, signal)).toMatchObject({ status: 'skipped', why: 'same-md5' });
    expect(await again.c.copy(big, signal)).toMatchObject({ status: 'skipped', why: 'same-md5' });
    expect(await again.c.copy(multi, signal)).toMatchObject({ status: 'skipped', why: 'same-source-etag' });
    await again.close();
  });

  it('written-meanwhile: another writer stores the same object between our look and our write', async () => {
    const e = await putObject(w, 'data/skip/raced.bin', 100_000);
    const name = 'copy/skip/raced.bin';
    // Our upload is held at the emulator long enough for the other writer to finish first.
    await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket, prefix: name }, times: 1, action: { delayMs: 8000 } });
    const { c, close } = await copier({ optimisticMaxBytes: 0 });
    const copying = c.copy(e, new AbortController().signal);
    while ((await hitsOf(gcsEndpoint(), w.gcsBucket)) === 0) await new Promise((r) => setTimeout(r, 50));
    const other = await fetch(`${gcsEndpoint()}/upload/storage/v1/b/${w.gcsBucket}/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', body: new Uint8Array(bytesFor(e.key, e.size)) });
    expect(other.status).toBe(200);
    expect(await copying).toMatchObject({ status: 'skipped', why: 'written-meanwhile' });
    await close();
  });
});
