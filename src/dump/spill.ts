// The listing, reordered by key hash in bounded memory, so dump can merge it with the table's unique index
// (dir_key_sha, BINARY(32): memcmp order, the order Buffer.compare gives) read in the same order.
// Neither side is in key order usable here: the table has no index on dir_key (1024 utf8mb4 characters do
// not fit an InnoDB key), and an `aws s3 ls` file need not be sorted; the hash order is free on the table's
// side and uniform, so the listing is partitioned by hash bytes, not sorted as a whole.
//
// Records `type(1) sha(32) keyLength(2, BE) key(UTF-8)` are appended into one Buffer of at most
// `budgetBytes`. A listing that fits stays there: one partition, the whole hash range. A bigger one is
// scattered, each time the Buffer fills, into 256 files by the hash's first byte; a file that ends up
// bigger than the budget is scattered again by the next byte, and so on. A partition is then read whole,
// sorted, and handed on with its hash range; partitions come in ascending hash order and cover the whole
// range (an empty one too: the table may have rows there). Memory: about 2.5x the budget, whatever the
// listing or the table hold; disk: the listing's records (~35 bytes + the key each), removed at the end.
import { appendFileSync, closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHA_BYTES = 32;
/** type + sha + key length. */
export const HEAD_BYTES = 1 + SHA_BYTES + 2;
/** A key the listing holds. */
export const LISTED = 0;
/** A row marked missing before this run (last_seen set): it joins the merge as a record of its own. */
export const MISSING = 1;
const FANOUT = 256;
/** Sort keys carry the record's index in their low bits. */
const INDEX_BITS = 2 ** 21;

export interface Partition {
  /** Inclusive lower bound of the hash range (null: from the start). */
  lo: Buffer | null;
  /** Exclusive upper bound (null: to the end). */
  hi: Buffer | null;
  records: Buffer;
  /** Offsets of the records in hash order (equal hashes adjacent). */
  order: Uint32Array;
}

export class Spill {
  private buf: Buffer;
  private bytes = 0;
  private scratch?: Buffer;
  private dir?: string;
  /** The most record bytes held at once (pending or a partition read back): the memory bound, for tests. */
  peakBytes = 0;
  /** Files scattered again for being bigger than the budget. */
  splits = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly tmpRoot = tmpdir(),
  ) {
    if (budgetBytes < 4096 || budgetBytes / HEAD_BYTES >= INDEX_BITS) throw new Error(`dump: spill budget ${budgetBytes} bytes out of range (4 KiB to 64 MiB)`);
    this.buf = Buffer.allocUnsafe(Math.min(budgetBytes, 1 << 20));
  }

  /** Appends a record; key is the subfolder (LISTED) or empty (MISSING). */
  add(type: number, sha: Buffer, key = ''): void {
    const need = HEAD_BYTES + Buffer.byteLength(key);
    if (this.bytes + need > this.buf.length) {
      if (this.buf.length < this.budgetBytes) this.buf = Buffer.concat([this.buf.subarray(0, this.bytes)], Math.min(this.budgetBytes, this.buf.length * 2));
      else this.spill();
    }
    const b = this.buf;
    let at = this.bytes;
    b[at++] = type;
    at += sha.copy(b, at, 0, SHA_BYTES);
    const len = b.write(key, at + 2, 'utf8');
    b.writeUInt16BE(len, at);
    this.bytes = at + 2 + len;
    this.peakBytes = Math.max(this.peakBytes, this.bytes);
  }

  /** The records in ascending hash order, a partition at a time; consumes the spill. */
  async *partitions(): AsyncGenerator<Partition> {
    if (!this.dir) {
      yield sortPartition(this.buf.subarray(0, this.bytes), 0, null, null);
      return;
    }
    this.spill();
    this.buf = Buffer.alloc(0);
    yield* this.fromFiles(this.dir, 0, Buffer.alloc(0));
  }

  /** Removes the spill's files (after a run, whether it ended or failed). */
  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private spill(): void {
    this.dir ??= mkdtempSync(join(this.tmpRoot, 'ott-dump-'));
    this.scatter(this.buf.subarray(0, this.bytes), 0, this.dir);
    this.bytes = 0;
  }

  /** Appends complete records to the 256 files under dir by their hash's byte `depth`. */
  private scatter(records: Buffer, depth: number, dir: string): void {
    const sizes = new Uint32Array(FANOUT + 1);
    for (let at = 0; at < records.length; at += recordBytes(records, at)) sizes[records[at + 1 + depth] + 1] += recordBytes(records, at);
    for (let p = 1; p <= FANOUT; p++) sizes[p] += sizes[p - 1];
    if (!this.scratch || this.scratch.length < records.length) this.scratch = Buffer.allocUnsafe(Math.max(records.length, this.budgetBytes));
    const out = this.scratch;
    const fill = sizes.slice();
    for (let at = 0, n; at < records.length; at += n) {
      n = recordBytes(records, at);
      const p = records[at + 1 + depth];
      records.copy(out, fill[p], at, at + n);
      fill[p] += n;
    }
    for (let p = 0; p < FANOUT; p++) if (sizes[p + 1] > sizes[p]) appendFileSync(join(dir, hex(p)), out.subarray(sizes[p], sizes[p + 1]));
  }

  /** The partitions of dir's 256 files (hash prefix `prefix` + the file's byte), in order. */
  private async *fromFiles(dir: string, depth: number, prefix: Buffer): AsyncGenerator<Partition> {
    for (let p = 0; p < FANOUT; p++) {
      const file = join(dir, hex(p));
      const pre = Buffer.concat([prefix, Buffer.from([p])]);
      const size = existsSync(file) ? statSync(file).size : 0;
      if (size <= this.budgetBytes) {
        const records = size ? readFileSync(file) : Buffer.alloc(0);
        this.peakBytes = Math.max(this.peakBytes, size);
        rmSync(file, { force: true });
        yield sortPartition(records, depth + 1, ...rangeOf(pre));
      } else {
        // Too big to sort in memory: scattered again by the next byte, read back a budget at a time.
        const sub = mkdtempSync(join(dir, `${hex(p)}-`));
        this.splits++;
        this.splitFile(file, depth + 1, sub);
        rmSync(file, { force: true });
        yield* this.fromFiles(sub, depth + 1, pre);
        rmSync(sub, { recursive: true, force: true });
      }
    }
  }

  private splitFile(file: string, depth: number, dir: string): void {
    const chunk = Buffer.allocUnsafe(this.budgetBytes);
    const fd = openSync(file, 'r');
    try {
      let held = 0;
      for (let n; (n = readSync(fd, chunk, held, chunk.length - held, null)) > 0; ) {
        const end = held + n;
        let whole = 0;
        while (whole + HEAD_BYTES <= end && whole + recordBytes(chunk, whole) <= end) whole += recordBytes(chunk, whole);
        this.scatter(chunk.subarray(0, whole), depth, dir);
        held = chunk.copy(chunk, 0, whole, end);
      }
      if (held) throw new Error(`dump: spill file ${file} ends inside a record`);
    } finally {
      closeSync(fd);
    }
  }
}

const hex = (p: number): string => p.toString(16).padStart(2, '0');

export function recordBytes(records: Buffer, at: number): number {
  return HEAD_BYTES + records.readUInt16BE(at + 1 + SHA_BYTES);
}

/** The hash range of a prefix: [prefix 00.., prefix+1 00..), or open at the end. */
function rangeOf(prefix: Buffer): [Buffer, Buffer | null] {
  const lo = Buffer.alloc(SHA_BYTES);
  prefix.copy(lo);
  const hi = Buffer.from(lo);
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (hi[i] < 0xff) {
      hi[i]++;
      return [lo, hi];
    }
    hi[i] = 0;
  }
  return [lo, null];
}

/**
 * Sorts records whose hashes share their first `depth` bytes: a native sort of numbers (the next 32 bits
 * of the hash and the record's index), then runs with equal 32 bits compared in full.
 */
export function sortPartition(records: Buffer, depth: number, lo: Buffer | null, hi: Buffer | null): Partition {
  const offsets: number[] = [];
  for (let at = 0; at < records.length; at += recordBytes(records, at)) offsets.push(at);
  const n = offsets.length;
  const keys = new Float64Array(n);
  const bitsAt = 1 + Math.min(depth, SHA_BYTES - 4);
  for (let i = 0; i < n; i++) keys[i] = records.readUInt32BE(offsets[i] + bitsAt) * INDEX_BITS + i;
  keys.sort();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = offsets[keys[i] % INDEX_BITS];
  const cmp = (a: number, b: number): number => records.compare(records, b + 1, b + 1 + SHA_BYTES, a + 1, a + 1 + SHA_BYTES);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && Math.floor(keys[j] / INDEX_BITS) === Math.floor(keys[i] / INDEX_BITS)) j++;
    if (j - i > 1) order.subarray(i, j).set(Array.from(order.subarray(i, j)).sort(cmp));
    i = j;
  }
  return { lo, hi, records, order };
}
