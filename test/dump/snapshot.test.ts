// The in-memory index of the table's hashes: every present key is found, absent ones are not, listed bits
// count a key once, and the unlisted rows are exactly the ones never marked.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Snapshot } from '../../src/dump/snapshot.js';
import { Batch } from '../../src/dump/bulk.js';

function sortedShas(n: number): Buffer[] {
  return Array.from({ length: n }, () => randomBytes(32)).sort(Buffer.compare);
}

describe('Snapshot', () => {
  it.each([0, 1, 7, 5000])('finds each of %i hashes and nothing else', (n) => {
    const shas = sortedShas(n);
    const snap = new Snapshot(Buffer.concat(shas), []);
    expect(snap.size).toBe(n);
    shas.forEach((sha, i) => expect(snap.find(sha)).toBe(i));
    for (let k = 0; k < 200; k++) expect(snap.find(randomBytes(32))).toBe(-1);
  });

  it.each([1, 7, 5000])('does not find a hash that shares all but the last byte with a present one (%i hashes)', (n) => {
    const shas = sortedShas(n);
    const snap = new Snapshot(Buffer.concat(shas), []);
    for (const sha of [shas[0], shas[n >> 1], shas[n - 1]]) expect(snap.find(Buffer.concat([sha.subarray(0, 31), Buffer.from([sha[31] ^ 1])]))).toBe(-1);
  });

  it('counts a listed row once and reports the rest as unlisted, in hash order', () => {
    const shas = sortedShas(100);
    const snap = new Snapshot(Buffer.concat(shas), []);
    for (let i = 0; i < 100; i += 3) expect(snap.markListed(i)).toBe(true);
    expect(snap.markListed(0)).toBe(false);
    const unlisted = [...snap.unlisted()];
    expect(unlisted).toEqual(Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 3 !== 0));
    expect(snap.sha(unlisted[0]).equals(shas[1])).toBe(true);
  });
});

describe('Batch', () => {
  it('round-trips any key through the LOAD DATA text, and fills up by keys or bytes', () => {
    const keys = ['plain/', 'tab\there/', 'nl\nhere/', 'back\\slash/', 'cr\r/', 'nul\0/', 'unicodé-日本/', '\\N/'];
    const b = new Batch(1 << 20, keys.length);
    for (const k of keys) expect(b.add(k, 'ab'.repeat(32))).toBe(true);
    expect(b.add('one-too-many/', 'ab'.repeat(32))).toBe(false);
    expect(b.rows().map(([k]) => k)).toEqual(keys);
    expect(b.rows()[0][1].equals(Buffer.alloc(32, 0xab))).toBe(true);
    const small = new Batch(100, 1000);
    expect(small.add('a/', 'cd'.repeat(32))).toBe(true);
    expect(small.add('b/', 'cd'.repeat(32))).toBe(false); // 100 bytes: one line (68) and no room for a second
    small.clear();
    expect(small.count).toBe(0);
  });
});
