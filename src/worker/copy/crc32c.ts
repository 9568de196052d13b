// CRC32C (Castagnoli): what GCS stores beside MD5, and the only checksum it keeps for an object assembled
// from parts (XML multipart, compose). The bytes are hashed by @node-rs/crc32 (native, SSE4.2/ARMv8 CRC
// instructions): 8.7-11x the CPU rate of the slicing-by-8 JavaScript this file held before (bench/crc32c.bench.ts,
// which still measures that JavaScript, now kept as the test fixtures' independent implementation in
// test/stack/crc32c.ts). crc32cCombine gives the CRC32C of a whole from its parts' CRCs.
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

const POLY = 0x82f63b78;

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

// The combine works on polynomials over GF(2) in the CRC's reflected bit order (zlib's crc32_combine since
// 1.2.12): appending n zero bytes to a message multiplies its CRC register by x^(8n) mod P.

/** a(x) * b(x) mod P. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

/** X2N[k] = x^(2^k) mod P, k < 64: enough for any byte length below 2^61. */
const X2N = new Uint32Array(64);
X2N[0] = 0x40000000; // x^1
for (let k = 1; k < 64; k++) X2N[k] = multModP(X2N[k - 1], X2N[k - 1]);

/** x^(8 * bytes) mod P; lengths are whole numbers beyond 2^32 too (a part may be 5 GiB), so no bit operators on them. */
function xPowBytes(bytes: number): number {
  let p = 0x80000000; // x^0
  let n = bytes;
  for (let k = 3; n > 0; k++, n = Math.floor(n / 2)) if (n % 2 === 1) p = multModP(X2N[k], p);
  return p;
}

/** crc32c(A ‖ B) from crc32c(A), crc32c(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`crc32cCombine: lengthB must be a whole number of bytes, got ${lengthB}`);
  return (multModP(xPowBytes(lengthB), crcA >>> 0) ^ crcB) >>> 0;
}
