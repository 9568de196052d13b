// Pure parts of the copy path: signing, URL building, ETag math and the one-pass hasher, verdicts,
// upload metadata, the skip rule and the shared limiter.
import { describe, expect, it } from 'vitest';
import { createHash, createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createUrlSigner, customPolicy, refreshMarginMs } from '../../src/worker/copy/signer.js';
import { cdnBase, cdnRequestPath } from '../../src/worker/copy/source.js';
import { crc32c, crc32cBase64 } from '../../src/worker/copy/crc32c.js';
import { crc32cJs as fixtureCrc32c } from '../stack/crc32c.js';
import { multipartEtag, parseEtag } from '../../src/common/source/etag.js';
import { StreamHasher, verdict } from '../../src/worker/copy/verify.js';
import { sameObject, uploadMetadata, META_SOURCE_ETAG } from '../../src/worker/copy/copyObject.js';
import { differs } from '../../src/worker/diff.js';
import { decodeCdnPath } from '../../src/common/naming.js';
import { createLimiter } from '../../src/common/limit.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const fromCfBase64 = (s: string): Buffer => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

describe('signer', () => {
  it('signs one wildcard custom policy, reuses it, and re-signs near expiry', () => {
    const signer = createUrlSigner({ hostPre: 'https://d1.example.net/root/', keyPairId: 'KTEST', privateKey, expireSeconds: 36_000 });
    const t0 = 1_700_000_000_000;
    const q1 = new URLSearchParams(signer.query(t0));
    expect(q1.get('Key-Pair-Id')).toBe('KTEST');
    const policy = fromCfBase64(q1.get('Policy')!).toString('utf8');
    expect(JSON.parse(policy)).toEqual(JSON.parse(customPolicy('https://d1.example.net/root/*', t0 / 1000 + 36_000)));
    const ok = createVerify('RSA-SHA1').update(policy).verify(publicKey, fromCfBase64(q1.get('Signature')!));
    expect(ok).toBe(true);
    expect(signer.query(t0 + 1000)).toBe(signer.query(t0)); // reused
    const margin = refreshMarginMs(36_000);
    expect(margin).toBe(3600_000);
    const first = signer.query(t0);
    expect(signer.query(t0 + 36_000_000 - margin - 1)).toBe(first); // still reused
    const second = signer.query(t0 + 36_000_000 - margin + 1);
    expect(second).not.toBe(first); // re-signed with a later expiry
    expect(JSON.parse(fromCfBase64(new URLSearchParams(second).get('Policy')!).toString('utf8')).Statement[0].Condition.DateLessThan['AWS:EpochTime']).toBeGreaterThan(t0 / 1000 + 36_000);
  });

  it('gives plain URLs without a key, and a clear error (no key material) for a bad key', () => {
    expect(createUrlSigner({ hostPre: 'https://d/', expireSeconds: 60 }).query()).toBe('');
    const bad = createUrlSigner({ hostPre: 'https://d/', keyPairId: 'KBAD', privateKey: '-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n', expireSeconds: 60 });
    expect(() => bad.query()).toThrow(/cannot sign CloudFront URLs with the key of key pair KBAD/);
    try {
      bad.query();
    } catch (err) {
      expect((err as Error).message).not.toMatch(/not a key/);
    }
  });
});

describe('CDN URLs', () => {
  const keys = ['a b/c+d.txt', 'p%20q/100%', 'h#x?y&z=1', 'unicodé/日本語', 'double//slash', 'trailing.', 'dots/./..', "quote'(*)!", 'semi;colon,comma'];
  it.each(keys)('round-trips %j through per-segment encoding', (key) => {
    const base = cdnBase('http://127.0.0.1:9/bucket/');
    const path = cdnRequestPath(base, key, { replace_key_parts: {} }, 'Policy=x');
    expect(path.startsWith('/bucket/')).toBe(true);
    const [p, q] = path.split('?');
    expect(q).toBe('Policy=x');
    expect(decodeCdnPath(p.slice('/bucket/'.length))).toBe(key);
    expect(p).not.toMatch(/[ #?]/);
  });
  it('applies replace_key_parts before encoding', () => {
    expect(cdnRequestPath(cdnBase('https://d.net'), 'data/x y', { replace_key_parts: { 'data/': 'cdn/' } }, '')).toBe('/cdn/x%20y');
  });
});

describe('hashes and verdicts', () => {
  it('CRC32C matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
    expect(crc32c(Buffer.from('6789'), crc32c(Buffer.from('12345')))).toBe(0xe3069283);
    expect(crc32cBase64(0xe3069283)).toBe(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
  });

  // RFC 3720 (iSCSI) B.4: the CRC32C test vectors, for the tool's native CRC32C and the fixtures' own
  // independent JavaScript one (which vouches for the native one the GCS emulator hashes with), which must
  // agree with each other on any bytes, continued too.
  const iscsiReadPdu = Buffer.from('01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000', 'hex');
  it.each([
    ['32 bytes of zeroes', Buffer.alloc(32), 0x8a9136aa],
    ['32 bytes of 0xff', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['32 ascending bytes 0x00-0x1f', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ['32 descending bytes 0x1f-0x00', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
    ['an iSCSI SCSI Read (10) command PDU', iscsiReadPdu, 0xd9963a56],
  ])('CRC32C of %s is RFC 3720\'s, native and fixture alike', (_what, bytes, want) => {
    expect(crc32c(bytes)).toBe(want);
    expect(fixtureCrc32c(bytes)).toBe(want);
  });

  it('the native CRC32C and the fixtures\' JavaScript agree on random bytes, whole and continued at any cut', () => {
    for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 4095, 65_537, 1024 * 1024 + 3]) {
      const buf = randomBytes(n);
      const cut = Math.floor(n / 3);
      expect(crc32c(buf), `${n} bytes`).toBe(fixtureCrc32c(buf));
      expect(crc32c(buf.subarray(cut), crc32c(buf.subarray(0, cut))), `${n} bytes cut at ${cut}`).toBe(fixtureCrc32c(buf));
    }
  });

  it('parses ETags: single-part, multipart, opaque (and KMS makes any ETag opaque)', () => {
    expect(parseEtag('"D41D8CD98F00B204E9800998ECF8427E"')).toEqual({ kind: 'md5', md5Hex: 'd41d8cd98f00b204e9800998ecf8427e' });
    expect(parseEtag('"0123456789abcdef0123456789abcdef-3"')).toEqual({ kind: 'multipart', digestHex: '0123456789abcdef0123456789abcdef', parts: 3 });
    expect(parseEtag('d41d8cd98f00b204e9800998ecf8427e', true).kind).toBe('opaque');
    expect(parseEtag('not-an-md5').kind).toBe('opaque');
  });

  it('computes the multipart ETag in one pass at the exact part sizes, uniform or not, whatever the chunking', async () => {
    const data = Buffer.alloc(1000 * 3 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) % 251;
    const layouts = [
      [1000, 1000, 1000, 17],
      [500, 1700, 800, 17],
    ];
    for (const sizes of layouts) {
      const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
      const want = multipartEtag(starts.map((o, i) => createHash('md5').update(data.subarray(o, o + sizes[i])).digest()));
      for (const step of [1, 7, 999, 1000, 1001, 5000]) {
        const h = new StreamHasher({ partSizes: sizes, crc32c: true });
        for (let o = 0; o < data.length; o += step) h.update(data.subarray(o, o + step));
        const d = await h.digest();
        expect(d.multipartEtag, `${sizes.join(',')} by ${step}`).toBe(want);
        expect(d.md5Hex).toBe(createHash('md5').update(data).digest('hex'));
        expect(d.crc32cBase64).toBe(crc32cBase64(crc32c(data)));
        expect(d.bytes).toBe(data.length);
      }
    }
  });

  it('a multipart source is hashed by its parts and CRC32C only (one MD5 per byte), GCS\'s crc32c then ties its copy to our read', async () => {
    const data = randomBytes(3000);
    const h = new StreamHasher({ partSizes: [1000, 1000, 1000], crc32c: true, wholeMd5: false });
    h.update(data);
    const d = await h.digest();
    expect(d.md5Hex).toBeUndefined();
    const parts = [0, 1, 2].map((i) => createHash('md5').update(data.subarray(i * 1000, (i + 1) * 1000)).digest());
    const etag = parseEtag(multipartEtag(parts));
    const crc = crc32cBase64(crc32c(data));
    expect(verdict(3000, etag, d, { md5Hash: 'AAAA', crc32c: crc })).toEqual({ ok: true, verifiedBy: 'multipart-etag' });
    expect(verdict(3000, etag, d, { crc32c: 'AAAAAA==' })).toMatchObject({ ok: false, reason: expect.stringMatching(/crc32c differs/) });
    expect(verdict(3000, etag, d, { md5Hash: 'AAAA' })).toMatchObject({ ok: false, reason: expect.stringMatching(/no hash we computed/) });
  });

  it('judges size, MD5, multipart ETag, S3 checksums and GCS-stored hashes', async () => {
    const data = Buffer.from('hello world');
    const h = new StreamHasher({ crc32c: true });
    h.update(data);
    const d = await h.digest();
    const md5 = parseEtag(d.md5Hex!);
    expect(verdict(11, md5, d, {})).toEqual({ ok: true, verifiedBy: 'md5' });
    expect(verdict(12, md5, d, {})).toMatchObject({ ok: false, reason: expect.stringMatching(/sizes differ/) });
    expect(verdict(11, parseEtag('0'.repeat(32)), d, {})).toMatchObject({ ok: false, reason: expect.stringMatching(/hashes differ/) });
    expect(verdict(11, md5, d, { md5Hash: 'AAAA' })).toMatchObject({ ok: false, reason: expect.stringMatching(/GCS md5Hash differs/) });
    const opaque = parseEtag('kms-etag');
    expect(verdict(11, opaque, d, {})).toMatchObject({ ok: false });
    expect(verdict(11, opaque, d)).toEqual({ ok: true, verifiedBy: 'size-only' }); // local, before GCS answers
    expect(verdict(10, opaque, d)).toMatchObject({ ok: false });
    expect(verdict(11, opaque, d, { crc32c: d.crc32cBase64, md5Hash: d.md5Base64 })).toEqual({ ok: true, verifiedBy: 'size-only' });
    expect(verdict(11, opaque, d, { crc32c: 'AAAAAA==' })).toMatchObject({ ok: false, reason: expect.stringMatching(/crc32c differs/) });
    // S3's full-object checksums, computed by the AWS SDK's own code (independent of ours) for the expected values.
    const { Crc64Nvme, Crc32 } = await import('@aws-sdk/checksums/crc');
    const sdk = async (c: InstanceType<typeof Crc64Nvme> | InstanceType<typeof Crc32>): Promise<string> => (c.update(data), Buffer.from(await c.digest()).toString('base64'));
    const wants = [
      { algorithm: 'CRC64NVME' as const, base64: await sdk(new Crc64Nvme()) },
      { algorithm: 'CRC32' as const, base64: await sdk(new Crc32()) },
      { algorithm: 'CRC32C' as const, base64: crc32cBase64(crc32c(data)) },
    ];
    for (const want of wants) {
      const c = new StreamHasher({ crc32c: true, checksum: want });
      c.update(data.subarray(0, 4));
      c.update(data.subarray(4));
      expect(verdict(11, opaque, await c.digest(), { crc32c: d.crc32cBase64 }), want.algorithm).toEqual({ ok: true, verifiedBy: 'crc' });
      const bad = new StreamHasher({ crc32c: true, checksum: want });
      bad.update(Buffer.from('hello World'));
      expect(verdict(11, opaque, await bad.digest()), want.algorithm).toMatchObject({ ok: false, reason: expect.stringContaining(`hashes differ (${want.algorithm}`) });
    }
  });
});

describe('metadata and the skip rule', () => {
  const entry = { key: 'data/a.txt', size: 11, etag: '"5eb63bbbe01eeed093cb22bb8f5acdc3"', last_modified: '2024-01-01T00:00:00Z' };
  it('carries headers and x-amz-meta-*, records the source ETag, and hands GCS the MD5', () => {
    const m = uploadMetadata('dst/a.txt', entry, { contentType: 'text/plain', cacheControl: 'no-cache', contentLanguage: 'fr', userMetadata: { owner: 'x' }, encrypted: false, lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' }, parseEtag(entry.etag), 'NEARLINE');
    expect(m).toEqual({
      name: 'dst/a.txt',
      contentType: 'text/plain',
      cacheControl: 'no-cache',
      contentLanguage: 'fr',
      md5Hash: Buffer.from('5eb63bbbe01eeed093cb22bb8f5acdc3', 'hex').toString('base64'),
      storageClass: 'NEARLINE',
      metadata: { owner: 'x', [META_SOURCE_ETAG]: '5eb63bbbe01eeed093cb22bb8f5acdc3', 'ott-source-last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'ott-verified-by': 'md5' },
    });
  });
  it('skips only the same size and the same ETag or MD5', () => {
    const md5Hash = Buffer.from('5eb63bbbe01eeed093cb22bb8f5acdc3', 'hex').toString('base64');
    expect(sameObject({ name: 'n', size: 11, generation: '1', md5Hash }, entry)).toBe(true);
    expect(sameObject({ name: 'n', size: 11, generation: '1', metadata: { [META_SOURCE_ETAG]: '5eb63bbbe01eeed093cb22bb8f5acdc3' } }, entry)).toBe(true);
    expect(sameObject({ name: 'n', size: 12, generation: '1', md5Hash }, entry)).toBe(false);
    expect(sameObject({ name: 'n', size: 11, generation: '1', md5Hash: 'AAAA' }, entry)).toBe(false);
    // our metadata on bytes that do not hash to the ETag: a bad copy, never skipped
    expect(sameObject({ name: 'n', size: 11, generation: '1', md5Hash: 'AAAA', metadata: { [META_SOURCE_ETAG]: '5eb63bbbe01eeed093cb22bb8f5acdc3' } }, entry)).toBe(false);
    // SSE-KMS: the ETag looks like an MD5 but is not; the recorded source ETag decides
    expect(sameObject({ name: 'n', size: 11, generation: '1', md5Hash: 'AAAA', metadata: { [META_SOURCE_ETAG]: '5eb63bbbe01eeed093cb22bb8f5acdc3', 'ott-verified-by': 'size+crc32c' } }, entry)).toBe(true);
    for (const by of ['crc', 'size-only']) expect(sameObject({ name: 'n', size: 11, generation: '1', md5Hash: 'AAAA', metadata: { [META_SOURCE_ETAG]: '5eb63bbbe01eeed093cb22bb8f5acdc3', 'ott-verified-by': by } }, entry)).toBe(true);
    const mp = { ...entry, etag: '"0123456789abcdef0123456789abcdef-2"' };
    expect(sameObject({ name: 'n', size: 11, generation: '1', md5Hash: 'AAAA', metadata: { [META_SOURCE_ETAG]: '0123456789abcdef0123456789abcdef-2' } }, mp)).toBe(true);
  });
  // One decision (copy/same.ts): whatever the copy path skips, the diff (syncCheck --deep, rsync, the
  // delta pass) calls the same, and whatever it copies, the diff calls different; never the one without
  // the other (a check that keeps finding what the repair keeps skipping never converges).
  it('the diff and the copy path agree on every case', () => {
    const md5Hash = Buffer.from('5eb63bbbe01eeed093cb22bb8f5acdc3', 'hex').toString('base64');
    const mp = { ...entry, etag: '0123456789abcdef0123456789abcdef-2' };
    const cases: [string, typeof entry, { size: number; md5Hash?: string; metadata?: Record<string, string> }, boolean][] = [
      ['same MD5', entry, { size: 11, md5Hash }, true],
      ['right bytes, stale source-ETag record', entry, { size: 11, md5Hash, metadata: { [META_SOURCE_ETAG]: 'ffffffffffffffffffffffffffffffff' } }, true],
      ['other bytes under our record', entry, { size: 11, md5Hash: 'AAAA', metadata: { [META_SOURCE_ETAG]: '5eb63bbbe01eeed093cb22bb8f5acdc3' } }, false],
      ['other size', entry, { size: 12, md5Hash }, false],
      ['multipart, recorded', mp, { size: 11, metadata: { [META_SOURCE_ETAG]: mp.etag } }, true],
      ['multipart, another recorded version', mp, { size: 11, metadata: { [META_SOURCE_ETAG]: 'ffffffffffffffffffffffffffffffff-2' } }, false],
      ['multipart, nothing recorded: the size proves nothing', mp, { size: 11, md5Hash: 'AAAA' }, false],
    ];
    for (const [what, e, held, same] of cases) {
      expect(sameObject({ name: 'n', generation: '1', ...held }, e), what).toBe(same);
      const why = differs(e, { rel: 'n', name: 'n', metadata: {}, ...held });
      expect(why === undefined, `${what}: ${why}`).toBe(same);
    }
  });
});

describe('limiter', () => {
  it('never runs more than its concurrency, and runs everything', async () => {
    const lim = createLimiter(3);
    let active = 0;
    let peak = 0;
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        lim.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 1 + (i % 3)));
          active--;
          return i;
        }),
      ),
    );
    expect(done).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(3);
    expect(() => createLimiter(0)).toThrow(/got `0`/);
  });
});
