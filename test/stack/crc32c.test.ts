// The fixtures' own crc32cCombine (zlib's original matrix method), which gives every object the GCS emulator
// assembles from parts its CRC32C: pinned to the CRC32C of the concatenated bytes by the fixtures' own
// JavaScript CRC32C (crc32cJs), so it shares no code with the tool's combine it checks in the copy tests.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32cBase64, crc32cCombine, crc32cJs } from './crc32c.js';

describe('fixtures crc32cCombine', () => {
  it('equals crc32c of the concatenation, for empty, tiny and multi-MiB parts', () => {
    const lengths = [0, 1, 3, 8, 255, 65_537, 3 * 1024 * 1024 + 5];
    for (const la of lengths) {
      for (const lb of lengths) {
        const a = randomBytes(la);
        const b = randomBytes(lb);
        expect(crc32cCombine(crc32cJs(a), crc32cJs(b), lb), `${la}+${lb}`).toBe(crc32cJs(Buffer.concat([a, b])));
      }
    }
  });

  it('folds parts in order as a multipart completion does, and lengths beyond 2^32 bytes stay exact', () => {
    const parts = Array.from({ length: 30 }, (_, i) => randomBytes(1 + ((i * 7919) % 20_000)));
    expect(parts.reduce((crc, p) => crc32cCombine(crc, crc32cJs(p), p.length), 0)).toBe(crc32cJs(Buffer.concat(parts)));
    const [a, b, c] = [0x12345678, 0x9abcdef0, 0x0fedcba9];
    const [lb, lc] = [5 * 1024 ** 3, 3 * 1024 ** 3 + 17];
    expect(crc32cCombine(a, crc32cCombine(b, c, lc), lb + lc)).toBe(crc32cCombine(crc32cCombine(a, b, lb), c, lc));
    expect(crc32cCombine(a, b, lb)).not.toBe(crc32cCombine(a, b, lb - 2 ** 32));
    expect(() => crc32cCombine(1, 2, 1.5)).toThrow(/got 1.5/);
  });

  it('writes GCS\'s base64 of the big-endian CRC', () => {
    expect(crc32cBase64(crc32cJs(Buffer.from('123456789')))).toBe(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
  });
});
