// CRC32C (Castagnoli), slicing-by-8: what GCS stores beside MD5. Used only when no MD5 can verify an
// object (SSE-KMS ETags), so its cost is paid only there. crc32cCombine gives the CRC32C of a whole from its
// parts' CRCs: the only checksum GCS keeps for an object assembled from parts (XML multipart, compose).
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
