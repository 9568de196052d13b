// Pure parts of the parallel copy: how an object is cut into parts, and the whole-object MD5 of parts that
// arrive out of order, are retried, and are held only until the frontier reaches them.
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { InOrderMd5 } from '../../src/worker/copy/inOrderMd5.js';
import { planParts } from '../../src/worker/copy/parallel.js';

const MiB = 1024 * 1024;

describe('planParts', () => {
  it('cuts a single-part source into part-size ranges, the rest last', () => {
    expect(planParts(11 * MiB + 3, 5 * MiB)).toEqual([
      { number: 1, start: 0, sizeBytes: 5 * MiB },
      { number: 2, start: 5 * MiB, sizeBytes: 5 * MiB },
      { number: 3, start: 10 * MiB, sizeBytes: MiB + 3 },
    ]);
  });

  it("takes a multipart source's own parts, whatever their sizes", () => {
    expect(planParts(12 * MiB + 1024, 16 * MiB, [5 * MiB, 7 * MiB, 1024]).map((p) => [p.start, p.sizeBytes])).toEqual([
      [0, 5 * MiB],
      [5 * MiB, 7 * MiB],
      [12 * MiB, 1024],
    ]);
  });

  it('grows the parts so an object never needs more than 10,000 (GCS and S3 limit)', () => {
    const size = 5 * 1024 ** 4; // 5 TiB, the largest object
    const parts = planParts(size, 16 * MiB);
    expect(parts.length).toBeLessThanOrEqual(10_000);
    expect(parts.reduce((a, p) => a + p.sizeBytes, 0)).toBe(size);
    expect(parts.at(-1)!.start + parts.at(-1)!.sizeBytes).toBe(size);
  });
});

describe('InOrderMd5', () => {
  const parts = [randomBytes(1000), randomBytes(777), randomBytes(1), randomBytes(4096)];
  const whole = createHash('md5').update(Buffer.concat(parts)).digest('hex');
  const halves = (b: Buffer): Buffer[] => [b.subarray(0, b.length >> 1), b.subarray(b.length >> 1)];

  const go = new AbortController().signal;
  const slabs = (n: number, bytes: number): Buffer[] => Array.from({ length: n }, () => Buffer.alloc(bytes));

  it('gives the whole MD5 when parts stream and end out of order', async () => {
    const seq = new InOrderMd5(parts.length, slabs(6, 1024)); // parts 3, 1 and 2 ahead: 4 + 1 + 1 slabs
    for (const i of [3, 1, 0, 2]) seq.begin(i);
    for (const i of [3, 1, 0, 2]) for (const h of halves(parts[i])) await seq.update(i, h, go);
    const signal = new AbortController().signal;
    const hashed3 = seq.hashed(3, signal);
    let done3 = false;
    void hashed3.then(() => (done3 = true));
    seq.end(3);
    seq.end(1);
    await Promise.resolve();
    expect(done3).toBe(false); // held until the parts before it went in
    expect(seq.digestHex()).toBeUndefined();
    seq.end(0);
    seq.end(2);
    await hashed3;
    expect(seq.digestHex()).toBe(whole);
  });

  it('forgets what a retried part sent before, at the frontier and ahead of it', async () => {
    const seq = new InOrderMd5(parts.length, slabs(4, 4096));
    for (let i = 0; i < parts.length; i++) seq.begin(i);
    await seq.update(0, randomBytes(500), go); // part 0 at the frontier breaks after sending garbage
    await seq.update(2, randomBytes(9), go); // so does part 2, ahead of it
    seq.begin(0);
    seq.begin(2);
    for (let i = 0; i < parts.length; i++) await seq.update(i, parts[i], go);
    for (const i of [2, 0, 3, 1]) seq.end(i);
    expect(seq.digestHex()).toBe(whole);
  });

  it('holds parts ahead in its slabs only: a part ahead waits when they are full, the frontier never does', async () => {
    // One 600-byte slab for three parts ahead of the frontier.
    const seq = new InOrderMd5(parts.length, slabs(1, 600));
    for (let i = 0; i < parts.length; i++) seq.begin(i);
    let part1Held = false;
    const part1 = Promise.resolve(seq.update(1, parts[1], go)).then(() => (part1Held = true)); // 777 bytes > 600: waits
    await new Promise((r) => setTimeout(r, 20));
    expect(part1Held).toBe(false);
    await seq.update(0, parts[0], go); // the frontier hashes at once, slabs full or not
    seq.end(0); // part 1 is the frontier now: its first 600 bytes are hashed, the slab freed, the rest hashed directly
    await part1;
    seq.end(1);
    await seq.update(2, parts[2], go);
    const part3 = seq.update(3, parts[3], go); // ahead of part 2: 600 of its 4096 bytes held, then it waits
    seq.end(2);
    await part3;
    seq.end(3);
    expect(seq.digestHex()).toBe(whole);
  });

  it('a part ahead waiting for a slab gives up when the copy stops, or when it is started over', async () => {
    const seq = new InOrderMd5(3, slabs(1, 10));
    for (let i = 0; i < 3; i++) seq.begin(i);
    const stop = new AbortController();
    const waiting = seq.update(1, randomBytes(20), stop.signal);
    stop.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
    const stale = seq.update(2, randomBytes(20), go);
    seq.begin(2); // the part is sent again: what its old attempt still feeds is refused
    await expect(stale).rejects.toThrow(/started over/);
  });

  it('a part waiting for the frontier gives up when the copy stops', async () => {
    const seq = new InOrderMd5(2);
    const stop = new AbortController();
    seq.begin(1);
    seq.end(1);
    const waiting = seq.hashed(1, stop.signal);
    stop.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
  });
});
