// The merge at the heart of dump: one partition of the listing (spill.ts: records in hash order, listed
// keys and the table's missing marks) against the table's hashes in the same range, read in pages in the
// same order. Each hash is then exactly one of: listed and in the table (existing; reappeared if it was
// marked missing), in the table and not listed (vanished), listed and not in the table (new). Nothing is
// held beyond the partition and one page (plus the next one, fetched while this one is merged).
import { LISTED, MISSING, SHA_BYTES, recordBytes, type Partition } from './spill.js';

export interface MergeSink {
  /** In the table and listed; `records[at + 1 ..]` is its hash. */
  existing(records: Buffer, at: number, wasMissing: boolean): void | Promise<void>;
  /** In the table, not listed: `page[at ..]` is its hash. */
  vanished(page: Buffer, at: number, wasMissing: boolean): void | Promise<void>;
  /** Listed, not in the table: the record at `records[at]` (hash and key). */
  added(records: Buffer, at: number): void | Promise<void>;
  /** A key listed n more times than once. */
  repeated(n: number): void;
}

/** Reads the table's hashes of a range after `after`, ascending, `PAGE_ROWS` at most (readKeyPage). */
export type PageReader = (range: { lo: Buffer | null; hi: Buffer | null; after: Buffer | null }, rows: number) => Promise<Buffer>;

export const PAGE_ROWS = 10_000;

/** The table's hashes in the partition's range, a page at a time, the next page read while this one is used. */
async function* tablePages(p: Partition, read: PageReader, rows: number): AsyncGenerator<Buffer> {
  let next = read({ lo: p.lo, hi: p.hi, after: null }, rows);
  for (;;) {
    const page = await next;
    const full = page.length === rows * SHA_BYTES;
    if (full) next = read({ lo: p.lo, hi: p.hi, after: Buffer.from(page.subarray(page.length - SHA_BYTES)) }, rows);
    if (page.length) yield page;
    if (!full) return;
  }
}

export async function mergePartition(p: Partition, read: PageReader, sink: MergeSink, rows = PAGE_ROWS): Promise<void> {
  const { records, order } = p;
  const pages = tablePages(p, read, rows);
  let page: Buffer | undefined = (await pages.next()).value ?? undefined;
  let t = 0;
  let i = 0;
  // Sink calls and page reads are awaited only when they return a promise: most calls are synchronous counts.
  const nextPage = async (): Promise<void> => {
    page = (await pages.next()).value ?? undefined;
    t = 0;
  };
  while (i < order.length || page) {
    if (i === order.length) {
      const r = sink.vanished(page!, t, false);
      if (r) await r;
      if ((t += SHA_BYTES) === page!.length) await nextPage();
      continue;
    }
    const at = order[i];
    const c = page ? records.compare(page, t, t + SHA_BYTES, at + 1, at + 1 + SHA_BYTES) : -1;
    if (c > 0) {
      // A table row before the next record: in the table, neither listed nor marked missing.
      const r = sink.vanished(page!, t, false);
      if (r) await r;
      if ((t += SHA_BYTES) === page!.length) await nextPage();
      continue;
    }
    // The group of records with this hash: how often it was listed, whether it was marked missing.
    let listed = 0;
    let missing = false;
    let first = -1;
    for (; i < order.length && (order[i] === at || records.compare(records, at + 1, at + 1 + SHA_BYTES, order[i] + 1, order[i] + 1 + SHA_BYTES) === 0); i++) {
      const type = records[order[i]];
      if (type === MISSING) missing = true;
      else if (type === LISTED) {
        if (first < 0) first = order[i];
        listed++;
      } else throw new Error(`dump: spill record of unknown type ${type}`);
    }
    if (listed > 1) sink.repeated(listed - 1);
    if (c === 0) {
      const r = listed ? sink.existing(records, first, missing) : sink.vanished(page!, t, missing);
      if (r) await r;
      if ((t += SHA_BYTES) === page!.length) await nextPage();
    } else if (listed) {
      const r = sink.added(records, first);
      if (r) await r;
    }
    // A missing mark with no row (the row went while the run read): nothing to do.
  }
}

/** The key of the record at `at`. */
export function recordKey(records: Buffer, at: number): string {
  return records.toString('utf8', at + 3 + SHA_BYTES, at + recordBytes(records, at));
}
