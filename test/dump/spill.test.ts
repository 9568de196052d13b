// The dump's bounded-memory merge as pure units: the spill hands back every record once, in hash order, in
// partitions that cover the whole hash range, never holding more than its budget (however many keys: the
// small budgets here force files and re-split files); the merge against a table read in small pages finds
// exactly what sets computed the naive way find, on keys that sort differently as UTF-8 bytes and as JS
// strings, repeated keys, and rows marked missing that are listed again or still gone.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LISTED, MISSING, SHA_BYTES, Spill, type Partition } from '../../src/dump/spill.js';
import { mergePartition, recordKey, type MergeSink, type PageReader } from '../../src/dump/merge.js';
import { keySha } from '../../src/state/dump.js';
import { Batch } from '../../src/dump/bulk.js';

/** Keys whose UTF-16 order differs from their UTF-8 byte order (U+FFFF sorts after a surrogate pair in JS, before it in bytes). */
const ODD = ['root/\uffff/', 'root/😀/', 'root/é/', 'root/e/', 'root/ｚ/', 'root/tab\tnl\n/', 'root/'];
const keys = (n: number): string[] => [...ODD, ...Array.from({ length: n }, (_, i) => `root/sub-${i}-${'x'.repeat(i % 40)}/`)];

async function drain(spill: Spill): Promise<Partition[]> {
  const out: Partition[] = [];
  for await (const p of spill.partitions()) out.push({ ...p, records: Buffer.from(p.records) });
  return out;
}

describe('Spill', () => {
  it.each([
    ['in memory', 1 << 20, 2000],
    ['in files', 1 << 14, 20_000],
    ['in files split again', 4096, 20_000],
  ])('hands back every record once in hash order, partitions covering the range (%s)', async (_, budget, n) => {
    const dir = mkdtempSync(join(tmpdir(), 'ott-spill-test-'));
    const spill = new Spill(budget, dir);
    const all = keys(n);
    for (const k of all) spill.add(LISTED, keySha(k), k);
    spill.add(LISTED, keySha(all[3]), all[3]); // a repeat
    spill.add(MISSING, keySha('root/gone/'));
    const parts = await drain(spill);
    expect(spill.peakBytes).toBeLessThanOrEqual(budget);
    if (budget === 4096) expect(spill.splits).toBeGreaterThan(0);
    expect(parts[0].lo === null || parts[0].lo.equals(Buffer.alloc(32))).toBe(true);
    expect(parts.at(-1)!.hi).toBeNull();
    for (let i = 1; i < parts.length; i++) expect(parts[i].lo!.equals(parts[i - 1].hi!)).toBe(true);
    const seen: Buffer[] = [];
    const found: string[] = [];
    for (const p of parts) {
      for (const at of p.order) {
        const sha = p.records.subarray(at + 1, at + 1 + SHA_BYTES);
        if (p.lo) expect(Buffer.compare(sha, p.lo)).toBeGreaterThanOrEqual(0);
        if (p.hi) expect(Buffer.compare(sha, p.hi)).toBeLessThan(0);
        seen.push(Buffer.from(sha));
        if (p.records[at] === LISTED) found.push(recordKey(p.records, at));
      }
    }
    for (let i = 1; i < seen.length; i++) expect(Buffer.compare(seen[i - 1], seen[i])).toBeLessThanOrEqual(0);
    expect(found.sort()).toEqual([...all, all[3]].sort());
    expect(seen.length).toBe(all.length + 2);
    spill.dispose();
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);
});

interface Outcome {
  existing: string[];
  reappeared: string[];
  vanished: string[];
  stillGone: string[];
  added: string[];
  repeats: number;
}

/** A table of these keys (hash order), read in pages of `rows` by the merge; the reader counts what it hands out. */
function table(inTable: string[]): { read: PageReader; keyOf: Map<string, string>; served: { pages: number; maxRows: number } } {
  const keyOf = new Map(inTable.map((k) => [keySha(k).toString('hex'), k]));
  const sorted = Buffer.concat(inTable.map(keySha).sort(Buffer.compare));
  const served = { pages: 0, maxRows: 0 };
  const read: PageReader = async ({ lo, hi, after }, rows) => {
    const rowsOut: Buffer[] = [];
    // Binary search for the first row past the bound, then at most `rows` rows below hi.
    const from = after ?? lo;
    let [a, b] = [0, sorted.length / 32];
    while (a < b) {
      const m = (a + b) >> 1;
      const c = from ? Buffer.compare(sorted.subarray(m * 32, m * 32 + 32), from) : 1;
      if (c < 0 || (after && c === 0)) a = m + 1;
      else b = m;
    }
    for (let at = a * 32; at < sorted.length && rowsOut.length < rows; at += 32) {
      const sha = sorted.subarray(at, at + 32);
      if (hi && Buffer.compare(sha, hi) >= 0) break;
      rowsOut.push(sha);
    }
    served.pages++;
    served.maxRows = Math.max(served.maxRows, rowsOut.length);
    return Buffer.concat(rowsOut);
  };
  return { read, keyOf, served };
}

async function merge(listing: string[], inTable: string[], missing: string[], budget: number): Promise<Outcome & { served: { pages: number; maxRows: number } }> {
  const spill = new Spill(budget);
  for (const k of missing) spill.add(MISSING, keySha(k));
  for (const k of listing) spill.add(LISTED, keySha(k), k);
  const t = table(inTable);
  const o: Outcome = { existing: [], reappeared: [], vanished: [], stillGone: [], added: [], repeats: 0 };
  const sink: MergeSink = {
    existing: (r, at, wasMissing) => void (wasMissing ? o.reappeared : o.existing).push(recordKey(r, at)),
    vanished: (page, at, wasMissing) => void (wasMissing ? o.stillGone : o.vanished).push(t.keyOf.get(page.toString('hex', at, at + 32))!),
    added: async (r, at) => void o.added.push(recordKey(r, at)),
    repeated: (n) => void (o.repeats += n),
  };
  for await (const p of spill.partitions()) await mergePartition(p, t.read, sink, 7);
  spill.dispose();
  return { ...o, served: t.served };
}

describe('mergePartition', () => {
  it.each([
    ['one partition in memory', 1 << 20],
    ['partitions from files', 4096],
  ])('finds new, existing, vanished, reappeared and repeated keys as sets do (%s)', async (_, budget) => {
    const all = keys(3000);
    const inTable = all.filter((_k, i) => i % 5 !== 0); // every 5th key is new
    const missing = inTable.filter((_k, i) => i % 7 === 0); // marked missing before this run
    const listing = all.filter((_k, i) => i % 3 !== 0); // every 3rd key is not listed
    const repeated = listing.filter((_k, i) => i % 11 === 0);
    const out = await merge([...listing, ...repeated], inTable, missing, budget);
    const listed = new Set(listing);
    const table_ = new Set(inTable);
    const wasMissing = new Set(missing);
    const sort = (a: string[]): string[] => [...a].sort();
    expect(sort(out.added)).toEqual(sort(listing.filter((k) => !table_.has(k))));
    expect(sort(out.existing)).toEqual(sort(inTable.filter((k) => listed.has(k) && !wasMissing.has(k))));
    expect(sort(out.reappeared)).toEqual(sort(inTable.filter((k) => listed.has(k) && wasMissing.has(k))));
    expect(sort(out.vanished)).toEqual(sort(inTable.filter((k) => !listed.has(k) && !wasMissing.has(k))));
    expect(sort(out.stillGone)).toEqual(sort(inTable.filter((k) => !listed.has(k) && wasMissing.has(k))));
    expect(out.repeats).toBe(repeated.length);
    expect(out.served.maxRows).toBeLessThanOrEqual(7);
    const told = [...out.added, ...out.existing, ...out.reappeared, ...out.vanished, ...out.stillGone];
    expect(sort(told)).toEqual(sort(all.filter((k) => listed.has(k) || table_.has(k))));
    expect(told.filter((k) => ODD.includes(k)).length).toBeGreaterThan(3);
  });

  it('merges 300,000 keys holding at most its 64 KiB budget of records and 7-row pages', async () => {
    const all = Array.from({ length: 300_000 }, (_, i) => `root/${i}/`);
    const spill = new Spill(64 << 10);
    for (const k of all) spill.add(LISTED, keySha(k), k);
    const t = table(all.filter((_k, i) => i % 100 !== 0));
    const counts = { existing: 0, vanished: 0, added: 0 };
    const sink: MergeSink = { existing: () => void counts.existing++, vanished: () => void counts.vanished++, added: () => void counts.added++, repeated: () => undefined };
    for await (const p of spill.partitions()) await mergePartition(p, t.read, sink, 7);
    spill.dispose();
    expect(counts).toEqual({ existing: 297_000, vanished: 0, added: 3000 });
    expect(spill.peakBytes).toBeLessThanOrEqual(64 << 10);
    expect(t.served.maxRows).toBeLessThanOrEqual(7);
  }, 120_000);
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
