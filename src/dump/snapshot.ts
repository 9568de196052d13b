// The table's keys as this run found them: every dir_key_sha, sorted, in one Buffer (32 bytes a row), with
// a bucket index on the leading bits and one "listed" bit per row. A listed key is looked up here instead
// of being sent to MySQL, so a delta dump only sends the new keys; the rows whose bit stays clear at the
// end are the vanished ones. Memory: ~33 bytes per existing subfolder (1M rows: 33 MB).
import type { Db } from '../common/db.js';
import { readKeyHashes } from '../state/dump.js';

const SHA_BYTES = 32;

export class Snapshot {
  private readonly listed: Uint8Array;
  private readonly bucketStart: Uint32Array;
  private readonly shift: number;

  /** shas: sorted, concatenated 32-byte hashes; missing: indexes of rows already marked vanished. */
  constructor(
    private readonly shas: Buffer,
    readonly missing: number[],
  ) {
    const n = this.size;
    this.listed = new Uint8Array(Math.ceil(n / 8));
    // ~4 rows per bucket: bits = log2(n) - 2, between 8 and 22 (4 bytes a bucket: 1 MiB for 1M rows).
    const bits = Math.min(22, Math.max(8, Math.ceil(Math.log2(n + 1)) - 2));
    this.shift = 32 - bits;
    this.bucketStart = new Uint32Array((1 << bits) + 1);
    let row = 0;
    for (let b = 0; b < 1 << bits; b++) {
      this.bucketStart[b] = row;
      while (row < n && this.bucketOf(shas, row * SHA_BYTES) === b) row++;
    }
    this.bucketStart[1 << bits] = n;
  }

  get size(): number {
    return this.shas.length / SHA_BYTES;
  }

  private bucketOf(buf: Buffer, offset: number): number {
    return buf.readUInt32BE(offset) >>> this.shift;
  }

  /** The row index of sha, or -1 when the table did not hold it at the start of the run. */
  find(sha: Buffer): number {
    const b = this.bucketOf(sha, 0);
    for (let i = this.bucketStart[b]; i < this.bucketStart[b + 1]; i++) {
      if (this.shas.compare(sha, 0, SHA_BYTES, i * SHA_BYTES, (i + 1) * SHA_BYTES) === 0) return i;
    }
    return -1;
  }

  /** Marks row i as listed by this run; false when it already was (a key listed twice). */
  markListed(i: number): boolean {
    const bit = 1 << (i & 7);
    if (this.listed[i >> 3] & bit) return false;
    this.listed[i >> 3] |= bit;
    return true;
  }

  isListed(i: number): boolean {
    return (this.listed[i >> 3] & (1 << (i & 7))) !== 0;
  }

  sha(i: number): Buffer {
    return this.shas.subarray(i * SHA_BYTES, (i + 1) * SHA_BYTES);
  }

  /** Rows of the snapshot this run did not list, in hash order. */
  *unlisted(): Generator<number> {
    for (let i = 0; i < this.size; i++) if (!this.isListed(i)) yield i;
  }
}

/** The table's keys as they are now: every hash, and which rows are already marked missing. */
export async function readSnapshot(db: Db, table: string): Promise<Snapshot> {
  const { sorted, missing } = await readKeyHashes(db, table);
  const snapshot = new Snapshot(sorted, []);
  for (const sha of missing) {
    const i = snapshot.find(sha);
    if (i >= 0) snapshot.missing.push(i);
  }
  return snapshot;
}
