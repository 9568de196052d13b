// The copy path's verification on the real stack (issue 14, point 7), each case one the copy path let
// through or refused wrongly before: a stale CDN copy of an overwritten SSE-KMS object (the ETag of every
// GET is compared), multipart uploads with parts of different sizes (verified exactly), a CDN that answers
// a ranged resume with the whole object (start over, never append), SSE-KMS objects as S3 serves them (a
// 32-hex ETag that is no MD5) verified by S3's full-object checksum, and how each object was verified.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { run } from '../../src/worker/cdnTransfer.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';
import { addDirRow, bytesFor, cdnEndpoint, createWorld, dirCounters, drain, putMultipart, putObject, publish, readGcs, worldContext, type World } from './cdnTransferHarness.js';

const MiB = 1024 * 1024;
const tunables = { singleRequestMaxBytes: 1 * MiB, chunkBytes: 256 * 1024, optimisticMaxBytes: 64 * 1024 };
const md5Hex = (b: Buffer): string => createHash('md5').update(b).digest('hex');

let w: World;
beforeAll(async () => {
  w = await createWorld('cdnv', { max_attempts: 3, retry_budget_ms: 30_000 });
});
afterEach(async () => {
  await clearFaults(cdnEndpoint(), w.s3Bucket);
});

describe('copy path verification', () => {
  it('verifies SSE-KMS objects (32-hex ETag, no MD5) by S3\'s checksum, catches a corrupt body with it, and counts how each object was verified', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/kms/';
    await addDirRow(ctx, dir);
    const kms = await putObject(w, `${dir}single.bin`, 300_000, { ServerSideEncryption: 'aws:kms' });
    const kmsBig = await putObject(w, `${dir}big.bin`, 2 * MiB + 7, { ServerSideEncryption: 'aws:kms', ChecksumAlgorithm: 'CRC32C' });
    const kmsMultipart = await putMultipart(w, `${dir}multipart.bin`, [5 * MiB, 100_000], { ServerSideEncryption: 'aws:kms' });
    const plain = await putObject(w, `${dir}plain.bin`, 5000);
    // As S3 serves SSE-KMS: an ETag of 32 hex digits that is not the bytes' MD5; only the header tells.
    for (const o of [kms, kmsBig]) {
      expect(o.etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(o.etag).not.toContain(md5Hex(bytesFor(o.key, o.size)));
    }
    expect(kmsMultipart.etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    // One flipped byte on the wire: only S3's checksum can tell (the ETag proves nothing, and GCS stores what it got).
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: kms.key }, action: { corrupt: true } });
    await publish(w, dir, [kms, kmsBig, kmsMultipart, plain]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 4, failed: 0, sizeOnly: 1, verifiedBy: { md5: 1, 'multipart-etag': 0, crc: 2, 'size-only': 1 } });
    expect(ctx.logs.some((l) => l.includes('cdnTransfer: retrying object') && l.includes('hashes differ (CRC64NVME'))).toBe(true);
    for (const [o, by] of [[kms, 'crc'], [kmsBig, 'crc'], [kmsMultipart, 'size-only'], [plain, 'md5']] as const) {
      const g = (await readGcs(w, `copy/${o.key.slice(5)}`))!;
      expect(g.data.equals(bytesFor(o.key, o.size)), o.key).toBe(true);
      expect(g.meta.metadata?.['ott-verified-by'], o.key).toBe(by);
    }
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 4, size_only_objects: 1 });
    // A re-run skips them all: for SSE-KMS the recorded source ETag decides, not GCS's md5Hash.
    await publish(w, dir, [kms, kmsBig, kmsMultipart, plain]);
    expect(await run(ctx, { exitWhenIdleMs: 1500, tunables })).toMatchObject({ copied: 0, skipped: 4, failed: 0 });
    await ctx.db.end();
  });

  it('an AWS key that may not HeadObject leaves SSE-KMS objects verified by size only, counted and logged, not failed', async () => {
    const ctx = await worldContext(w, { gcs_root_prefix: 'nohead/' });
    // The S3 client is built on first use from these secrets: a secret S3 refuses (403 on HeadObject).
    Object.assign(ctx.secrets, { aws_key_id: 'NOTAKEY', aws_key_secret: 'not-the-secret' });
    const dir = 'data/nohead/';
    await addDirRow(ctx, dir);
    const kms = await putObject(w, `${dir}kms.bin`, 20_000, { ServerSideEncryption: 'aws:kms' });
    await publish(w, dir, [kms]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 1, failed: 0, sizeOnly: 1, verifiedBy: { crc: 0, 'size-only': 1 } });
    expect((await readGcs(w, 'nohead/nohead/kms.bin'))!.data.equals(bytesFor(kms.key, 20_000))).toBe(true);
    expect(ctx.logs.some((l) => l.includes('S3 refused HeadObject') && l.includes('s3:GetObject'))).toBe(true);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 1, size_only_objects: 1 });
    await ctx.db.end();
  });

  it('refuses a stale CDN copy of an overwritten object: the ETag of every GET must be the listing\'s', async () => {
    const ctx = await worldContext(w, { gcs_root_prefix: 'stale/' });
    const dir = 'data/stale/';
    await addDirRow(ctx, dir);
    // The old version (same size) stays at the edge; S3 and the listing have the new one.
    const key = `${dir}overwritten.bin`;
    await putObject(w, 'old-versions/overwritten.bin', 40_000, { ServerSideEncryption: 'aws:kms' });
    const entry = await putObject(w, key, 40_000, { ServerSideEncryption: 'aws:kms' });
    const flaky = await putObject(w, `${dir}stale-once.bin`, 40_000, { ServerSideEncryption: 'aws:kms' });
    await putObject(w, 'old-versions/stale-once.bin', 40_000);
    await addFaults(cdnEndpoint(), [
      { match: { op: 'get', bucket: w.s3Bucket, prefix: key }, times: 10, action: { serveKey: 'old-versions/overwritten.bin' } },
      { match: { op: 'get', bucket: w.s3Bucket, prefix: flaky.key }, action: { serveKey: 'old-versions/stale-once.bin' } },
    ]);
    await publish(w, dir, [entry, flaky]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 1, failed: 1 });
    expect(await readGcs(w, `stale/stale/overwritten.bin`)).toBeUndefined();
    expect((await readGcs(w, 'stale/stale/stale-once.bin'))!.data.equals(bytesFor(flaky.key, 40_000))).toBe(true);
    const [err] = (await drain(w.errorSub, 1)).map((m) => JSON.parse(m.data.toString()));
    expect(err).toMatchObject({ key, attempts: 3, reason: expect.stringMatching(/CDN served ETag [0-9a-f]{32} .* the listing says [0-9a-f]{32}: a stale CDN copy/) });
    await ctx.db.end();
  });

  it('verifies multipart uploads whose parts differ in size exactly (each part\'s size from S3)', async () => {
    const ctx = await worldContext(w, { gcs_root_prefix: 'mp/' });
    const dir = 'data/mp/';
    await addDirRow(ctx, dir);
    // 5, 7, 5 MiB and 1 KiB: the uniform reading of part 1 (5 MiB x 4) would cut parts 2-4 in the wrong places.
    const odd = await putMultipart(w, `${dir}non-uniform.bin`, [5 * MiB, 7 * MiB, 5 * MiB, 1024]);
    const bigFirst = await putMultipart(w, `${dir}big-first.bin`, [6 * MiB, 5 * MiB, 5 * MiB]);
    await publish(w, dir, [odd, bigFirst]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables: { ...tunables, chunkBytes: 4 * MiB } });
    expect(s).toMatchObject({ copied: 2, failed: 0, verifiedBy: { 'multipart-etag': 2 } });
    for (const o of [odd, bigFirst]) {
      const g = (await readGcs(w, `mp/${o.key.slice(5)}`))!;
      expect(g.data.equals(bytesFor(o.key, o.size)), o.key).toBe(true);
      expect(g.meta.metadata?.['ott-verified-by']).toBe('multipart-etag');
    }
    await ctx.db.end();
  });

  it('starts over from byte 0 when the CDN answers a ranged resume with the whole object (200)', async () => {
    const ctx = await worldContext(w, { gcs_root_prefix: 'range/' });
    const dir = 'data/range/';
    await addDirRow(ctx, dir);
    const big = await putObject(w, `${dir}big.bin`, 2 * MiB + 11);
    const small = await putObject(w, `${dir}small.bin`, 300_000);
    for (const o of [big, small]) {
      await addFaults(cdnEndpoint(), [
        { match: { op: 'get', bucket: w.s3Bucket, prefix: o.key }, action: { reset: 'mid-body' } },
        { match: { op: 'get', bucket: w.s3Bucket, prefix: o.key }, action: { ignoreRange: true } },
      ]);
    }
    await publish(w, dir, [big, small]);
    const s = await run(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(s).toMatchObject({ copied: 2, failed: 0 });
    for (const o of [big, small]) expect((await readGcs(w, `range/${o.key.slice(5)}`))!.data.equals(bytesFor(o.key, o.size)), o.key).toBe(true);
    expect((await listFaults(cdnEndpoint(), w.s3Bucket)).every((r) => r.remaining === 0)).toBe(true);
    expect(ctx.logs.filter((l) => l.includes('cdnTransfer: retrying object') && l.includes('starting over from byte 0')).length).toBe(2);
    await ctx.db.end();
  });
});
