// CRC32C for the fixtures (GCS emulator, Secret Manager fake). The emulator hashes every byte it receives
// with @node-rs/crc32's crc32c (native: SSE4.2/ARMv8 CRC instructions), called here directly, not through
// the tool's src/worker/copy/crc32c.ts: the slicing-by-8 JavaScript it held before cost the emulator ~8 ms
// of CPU per MiB, more than MD5, and made the fixtures, not the tool, the bottleneck of the parallel
// benchmark on 2 cores. That JavaScript stays below as crc32cJs, the independent implementation: it is
// pinned to RFC 3720's vectors and must agree with the native one on random bytes, whole and continued
// (test/worker/copyUnits.test.ts), so the copy tests still check the tool's CRC32C against an answer
// proven by code that shares nothing with it. The combine (GF(2) arithmetic, no hashing of bytes) is the
// tool's, pinned by crc32cCombine.test.ts. bench/crc32c.bench.ts measures crc32cJs against the native one.
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

export { crc32cBase64, crc32cCombine } from '../../src/worker/copy/crc32c.js';

/** Continues a CRC32C over buf; start with crc = 0. */
export function crc32c(buf: Uint8Array, crc = 0): number {
  return nativeCrc32c(buf, crc);
}

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

/** The independent JavaScript CRC32C (slicing-by-8); continues over buf, start with crc = 0. */
export function crc32cJs(buf: Uint8Array, crc = 0): number {
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
