// crc32cCombine: the CRC32C of a whole from its parts, as GCS reports it for an object assembled from parts
// (XML multipart uploads, compose). Pinned against crc32c over the concatenated bytes, against itself for
// lengths beyond 2^32 bytes, where a 32-bit slip in the length arithmetic would show, and there against the
// fixtures' combine too (test/stack/crc32c.ts: another method, pinned to bytes by test/stack/crc32c.test.ts).
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { crc32c, crc32cCombine } from '../../src/worker/copy/crc32c.js';
import { crc32cCombine as fixtureCombine } from '../stack/crc32c.js';

describe('crc32cCombine', () => {
  it('equals crc32c of the concatenation, for empty, tiny and multi-MiB parts', () => {
    const lengths = [0, 1, 2, 3, 7, 8, 255, 4096, 65_537, 3 * 1024 * 1024 + 5];
    for (const la of lengths) {
      for (const lb of lengths) {
        const a = randomBytes(la);
        const b = randomBytes(lb);
        expect(crc32cCombine(crc32c(a), crc32c(b), lb), `${la}+${lb}`).toBe(crc32c(Buffer.concat([a, b])));
      }
    }
  });

  it('folds many parts in order, as a multipart completion does', () => {
    const parts = Array.from({ length: 40 }, (_, i) => randomBytes(1 + ((i * 7919) % 20_000)));
    const folded = parts.reduce((crc, p) => crc32cCombine(crc, crc32c(p), p.length), 0);
    expect(folded).toBe(crc32c(Buffer.concat(parts)));
    // Order matters: the same parts swapped give another CRC.
    const swapped = [parts[1], parts[0], ...parts.slice(2)].reduce((crc, p) => crc32cCombine(crc, crc32c(p), p.length), 0);
    expect(swapped).not.toBe(folded);
  });

  it('is associative for lengths beyond 2^32 bytes (5 GiB parts)', () => {
    const [a, b, c] = [0x12345678, 0x9abcdef0, 0x0fedcba9];
    const lb = 5 * 1024 ** 3;
    const lc = 3 * 1024 ** 3 + 17;
    const left = crc32cCombine(crc32cCombine(a, b, lb), c, lc);
    const right = crc32cCombine(a, crc32cCombine(b, c, lc), lb + lc);
    expect(right).toBe(left);
    // A length that differs only above bit 32 must change the result.
    expect(crc32cCombine(a, b, lb)).not.toBe(crc32cCombine(a, b, lb - 2 ** 32));
    for (const n of [lb, lc, 2 ** 32 + 1, 5 * 1024 ** 4]) expect(crc32cCombine(a, b, n), `${n} bytes`).toBe(fixtureCombine(a, b, n));
  });

  it('refuses a length that is not a whole number of bytes, naming it', () => {
    expect(() => crc32cCombine(1, 2, -1)).toThrow(/lengthB .* got -1/);
    expect(() => crc32cCombine(1, 2, 1.5)).toThrow(/got 1.5/);
  });
});
