// CRC32C for the fixtures (GCS emulator, Secret Manager fake). The emulator hashes every byte it receives
// with @node-rs/crc32's crc32c (native: SSE4.2/ARMv8 CRC instructions), called here directly, not through
// the tool's src/worker/copy/crc32c.ts: the slicing-by-8 JavaScript it held before cost the emulator ~8 ms
// of CPU per MiB, more than MD5, and made the fixtures, not the tool, the bottleneck of the parallel
// benchmark on 2 cores. That JavaScript stays below as crc32cJs, the independent implementation: it is
// pinned to RFC 3720's vectors and must agree with the native one on random bytes, whole and continued
// (test/worker/copyUnits.test.ts), so the copy tests still check the tool's CRC32C against an answer
// proven by code that shares nothing with it. The combine (the CRC32C of an object assembled from parts,
// from the parts' own) is this file's too, by another method than the tool's: zlib's original GF(2)
// matrix squaring here, polynomial arithmetic mod P there. The emulator gives every composite the CRC32C
// this one computes and never re-reads the bytes, so a fault in either combine fails every parallel copy
// test; each is pinned to the bytes (test/stack/crc32c.test.ts, test/worker/crc32cCombine.test.ts).
// bench/crc32c.bench.ts measures crc32cJs against the native one.
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** Continues a CRC32C over buf; start with crc = 0. */
export function crc32c(buf: Uint8Array, crc = 0): number {
  return nativeCrc32c(buf, crc);
}

/** GCS's form: base64 of the big-endian 4 bytes. */
export function crc32cBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
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

/** mat (32 columns, one per bit of vec) times vec over GF(2). */
function matrixTimes(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}

function matrixSquare(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = matrixTimes(mat, mat[n]);
}

/**
 * crc32c(A ‖ B) from crc32c(A), crc32c(B) and B's length in bytes: zlib's crc32_combine as it was before
 * 1.2.12 (the operator "feed one zero bit" as a matrix, squared to feed 2, 4, 8... zero bits, applied for
 * each set bit of B's length in bits). Lengths beyond 2^32 are exact: halved arithmetically, not shifted.
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`crc32cCombine: lengthB must be a whole number of bytes, got ${lengthB}`);
  if (lengthB === 0) return crcA >>> 0;
  const odd = new Uint32Array(32);
  const even = new Uint32Array(32);
  odd[0] = POLY; // one zero bit
  for (let n = 1; n < 32; n++) odd[n] = 1 << (n - 1);
  matrixSquare(even, odd); // two zero bits
  matrixSquare(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let len = lengthB;
  for (;;) {
    matrixSquare(even, odd); // first time: one zero byte
    if (len % 2 === 1) crc = matrixTimes(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    matrixSquare(odd, even);
    if (len % 2 === 1) crc = matrixTimes(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}
