// CRC32C for the fixtures (GCS emulator, Secret Manager fake): slicing-by-8 JavaScript, on purpose NOT the
// tool's implementation (src/worker/copy/crc32c.ts hashes with @node-rs/crc32, native). The emulator's
// crc32c of every stored object is this file's answer, so each copy test checks the tool's native CRC32C
// against an independent one; both are pinned to RFC 3720's vectors by test/worker/copyUnits.test.ts. The
// combine (GF(2) arithmetic, no hashing of bytes) is the tool's, pinned by crc32cCombine.test.ts.
// bench/crc32c.bench.ts measures this JavaScript against the native one.
export { crc32cBase64, crc32cCombine } from '../../src/worker/copy/crc32c.js';

const POLY = 0x82f63b78;
const T: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[0][n] = c >>> 0;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) T[t][n] = (T[t - 1][n] >>> 8) ^ T[0][T[t - 1][n] & 0xff];
}

/** Continues a CRC32C over buf; start with crc = 0. */
export function crc32c(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n8 = buf.length - (buf.length % 8);
  const [t0, t1, t2, t3, t4, t5, t6, t7] = T;
  for (; i < n8; i += 8) {
    const a = (c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24))) >>> 0;
    c = t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24] ^ t3[buf[i + 4]] ^ t2[buf[i + 5]] ^ t1[buf[i + 6]] ^ t0[buf[i + 7]];
  }
  for (; i < buf.length; i++) c = t0[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
