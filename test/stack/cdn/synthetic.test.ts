// The synthetic origin: what a benchmark downloads must equal what synthetic.ts says it is, behind the same
// signature check as S3-backed distributions.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { addTrustedKey, cdnStats, clearTrustedKeys } from './client.js';
import { SYNTHETIC_BLOCK_BYTES, SYNTHETIC_BUCKET, syntheticBytes, syntheticEtag, syntheticMd5 } from './synthetic.js';
import { cdnEndpoint, rawRequest, rsaKeyPair } from './testing.js';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

afterAll(async () => {
  await clearTrustedKeys(cdnEndpoint(), SYNTHETIC_BUCKET);
});

describe('CDN fixture: synthetic origin', () => {
  it('serves the bytes and ETag the exported helper computes, for sizes around the block size', async () => {
    for (const size of [0, 1, 1000, SYNTHETIC_BLOCK_BYTES, 2 * SYNTHETIC_BLOCK_BYTES + 12_345]) {
      const r = await rawRequest(`/${SYNTHETIC_BUCKET}/${size}/obj-${size}.bin`);
      const want = syntheticBytes(size);
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(size);
      expect(r.body.equals(want)).toBe(true);
      expect(r.headers.etag).toBe(await syntheticEtag(size));
      expect(await syntheticMd5(size)).toBe(md5(want));
      expect(r.headers['content-length']).toBe(String(size));
      expect(r.headers['last-modified']).toBeDefined();
    }
    // Content depends on the size, so two objects never share a prefix by accident.
    expect(syntheticBytes(1000).equals(syntheticBytes(1001).subarray(0, 1000))).toBe(false);
  });

  it('serves ranges and HEAD like S3', async () => {
    const size = 3 * SYNTHETIC_BLOCK_BYTES;
    const start = SYNTHETIC_BLOCK_BYTES - 10;
    const r = await rawRequest(`/${SYNTHETIC_BUCKET}/${size}/x`, { headers: { range: `bytes=${start}-${start + 99}` } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${start}-${start + 99}/${size}`);
    expect(r.body.equals(syntheticBytes(size, start, start + 100))).toBe(true);
    const suffix = await rawRequest(`/${SYNTHETIC_BUCKET}/${size}/x`, { headers: { range: 'bytes=-7' } });
    expect(suffix.body.equals(syntheticBytes(size, size - 7))).toBe(true);
    expect((await rawRequest(`/${SYNTHETIC_BUCKET}/10/x`, { headers: { range: 'bytes=10-' } })).status).toBe(416);
    const head = await rawRequest(`/${SYNTHETIC_BUCKET}/${size}/x`, { method: 'HEAD' });
    expect(head.headers['content-length']).toBe(String(size));
    expect(head.headers.etag).toBe(await syntheticEtag(size));
    expect(head.body.length).toBe(0);
    expect((await rawRequest(`/${SYNTHETIC_BUCKET}/not-a-size/x`)).status).toBe(404);
  });

  it('requires signatures once keys are registered, and counts requests and bytes', async () => {
    const keys = rsaKeyPair();
    await addTrustedKey(cdnEndpoint(), { bucket: SYNTHETIC_BUCKET, keyPairId: 'KSYNTH', publicKeyPem: keys.publicKeyPem });
    const url = `${cdnEndpoint()}/${SYNTHETIC_BUCKET}/4096/signed.bin`;
    expect((await rawRequest(url)).status).toBe(403);
    const before = await cdnStats(cdnEndpoint());
    const signed = getSignedUrl({ url, keyPairId: 'KSYNTH', privateKey: keys.privateKeyPem, dateLessThan: new Date(Date.now() + 60_000).toISOString() });
    const r = await rawRequest(signed);
    expect(r.status).toBe(200);
    expect(r.body.equals(syntheticBytes(4096))).toBe(true);
    const after = await cdnStats(cdnEndpoint());
    expect(after.get - before.get).toBeGreaterThanOrEqual(1);
    expect(after.bytesSent - before.bytesSent).toBeGreaterThanOrEqual(4096);
    expect(after.byStatus['200']).toBeGreaterThan(0);
  });
});
