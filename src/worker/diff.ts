// Per-object diff of one subfolder: a streaming merge of the two sorted listings (O(1) memory however
// big the subfolder), each listing read one page ahead so S3 and GCS are listed in parallel. Like
// rclone's NeedTransfer, every verdict says why: missing, sizes differ, hashes differ, extra. The same
// decision as the copy path's (copy/same.ts), so what the diff calls different the copy path copies.
// S3 is listed unfiltered: an object the config's filters leave out (storage_class, last_modified_*) is
// `out-of-scope`, neither missing nor, when GCS holds a copy, extra: a filter never drives a deletion.
// An object in scope that cannot be migrated as it is (archived, or GCS cannot hold it) is `excluded`:
// counted on neither side, its GCS namesake (if any) neither extra nor deleted, tallied for the row.
import type { Ctx } from '../common/context.js';
import type { ObjectEntry } from '../common/messages.js';
import type { FilterReason } from '../common/source/filter.js';
// same.ts itself, not the copy path's index: the publishers' --delta imports this file, and the index loads
// the whole copier (undici, the signer, CRC32C) into a process that copies nothing.
import { compareWithGcs } from './copy/same.js';
import { Exclusions, type Exclusion } from '../common/source/unmigratable.js';
import { archivedInS3, listGcs, listS3Scoped, type GcsEntry, type ScopedEntry } from './listing.js';
import type { DeepResult, Measured } from '../state/work.js';

export type DiffItem =
  | { kind: 'same'; s3: ObjectEntry; gcs: GcsEntry }
  | { kind: 'missing'; s3: ObjectEntry }
  | { kind: 'different'; s3: ObjectEntry; gcs: GcsEntry; why: string }
  | { kind: 'extra'; gcs: GcsEntry }
  /** In S3 but left out by a filter (`why`): not to copy, and its GCS copy (if any) not to delete. */
  | { kind: 'out-of-scope'; s3: ObjectEntry; gcs?: GcsEntry; why: FilterReason }
  /** In scope, but archived or not storable in GCS: never copied, its GCS namesake (if any) kept. */
  | { kind: 'excluded'; s3: ObjectEntry; exclusion: Exclusion };

/**
 * Reads up to `ahead` items of `it` in the background, so two merged listings overlap their round trips.
 * Not a concurrency limit (common/limit.ts): one producer, a bounded prefetch buffer.
 */
async function* readAhead<T>(it: AsyncIterator<T>, ahead = 1000): AsyncGenerator<T> {
  const buf: T[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let space: (() => void) | undefined;
  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        while (buf.length >= ahead) await new Promise<void>((r) => (space = r));
        const r = await it.next();
        if (r.done) break;
        buf.push(r.value);
        wake?.();
      }
    } catch (err) {
      failure = err;
    } finally {
      done = true;
      wake?.();
    }
  };
  void pump();
  for (;;) {
    if (buf.length) {
      const v = buf.shift() as T;
      space?.();
      yield v;
      continue;
    }
    if (failure) throw failure;
    if (done) return;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
}

/** The verdict on an object present on both sides (copy/same.ts); undefined when they match. */
export function differs(s3: ObjectEntry, gcs: GcsEntry): string | undefined {
  const v = compareWithGcs(s3, gcs);
  return v.same ? undefined : v.why;
}

/** UTF-8 byte order, the order both S3 and GCS list in (JS string order differs beyond the BMP). */
function cmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Passes `it` on, failing at the first name (`nameOf`) out of UTF-8 byte order. */
function ordered<T>(it: AsyncIterable<T>, side: string, nameOf: (e: T) => string): AsyncGenerator<T> {
  return (async function* () {
    let prev: string | undefined;
    for await (const e of it) {
      const name = nameOf(e);
      if (prev !== undefined && cmp(prev, name) >= 0) throw new Error(`${side} listing is not in UTF-8 byte order at ${JSON.stringify(name)}: cannot merge`);
      prev = name;
      yield e;
    }
  })();
}

/** Streams the merge of both sides of `dirKey`: S3 keys relative to dirKey against GCS names relative to its mirror. */
export async function* diffSubfolder(ctx: Ctx, dirKey: string): AsyncGenerator<DiffItem> {
  const relOf = (e: ScopedEntry): string => e.o.key.slice(dirKey.length);
  const a = readAhead(ordered(listS3Scoped(ctx, dirKey), 'S3', relOf)[Symbol.asyncIterator]());
  const b = readAhead(ordered(listGcs(ctx, dirKey), 'GCS', (e) => e.rel)[Symbol.asyncIterator]());
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : cmp(relOf(x.value), y.value.rel);
    if (c < 0) {
      const { o, outOfScope, excluded } = x.value as ScopedEntry;
      // Missing in GCS, of a class that may be archived: one HEAD first, so nothing S3 refuses is copied.
      const exclusion = outOfScope ? undefined : (excluded ?? (await archivedInS3(ctx, o)));
      yield outOfScope ? { kind: 'out-of-scope', s3: o, why: outOfScope } : exclusion ? { kind: 'excluded', s3: o, exclusion } : { kind: 'missing', s3: o };
      x = await a.next();
    } else if (c > 0) {
      yield { kind: 'extra', gcs: y.value as GcsEntry };
      y = await b.next();
    } else {
      const { o: s3, outOfScope, excluded } = x.value as ScopedEntry;
      const gcs = y.value as GcsEntry;
      const why = outOfScope || excluded ? undefined : differs(s3, gcs);
      if (outOfScope) yield { kind: 'out-of-scope', s3, gcs, why: outOfScope };
      else if (excluded) yield { kind: 'excluded', s3, exclusion: excluded };
      else yield why ? { kind: 'different', s3, gcs, why } : { kind: 'same', s3, gcs };
      x = await a.next();
      y = await b.next();
    }
  }
}

export const DEEP_SAMPLE = 10;

/**
 * Sizes, counts and the per-object diff of one subfolder, in one pass over both listings; excluded
 * objects (archived, unmigratable) count on neither side but are tallied in `exclusions` for the row.
 */
export async function deepCheck(ctx: Ctx, dirKey: string): Promise<{ measured: Measured; deep: DeepResult; exclusions: Exclusions }> {
  const m: Measured = { s3Bytes: 0, gcsBytes: 0, s3Objects: 0, gcsObjects: 0 };
  const d: DeepResult = { missing: 0, different: 0, extra: 0, sample: { missing: [], different: [], extra: [] } };
  const exclusions = new Exclusions();
  const note = (list: string[], key: string): void => {
    if (list.length < DEEP_SAMPLE) list.push(key);
  };
  for await (const item of diffSubfolder(ctx, dirKey)) {
    // Out of scope: on neither side (its GCS copy is neither expected nor extra: counting it would leave the subfolder mismatched for good).
    if (item.kind === 'out-of-scope') continue;
    if (item.kind === 'excluded') {
      exclusions.add(item.s3, item.exclusion);
      continue;
    }
    if (item.kind !== 'extra') {
      m.s3Bytes += item.s3.size;
      m.s3Objects++;
    }
    if (item.kind !== 'missing') {
      m.gcsBytes += item.gcs.size;
      m.gcsObjects++;
    }
    if (item.kind === 'missing') {
      d.missing++;
      note(d.sample.missing, item.s3.key);
    } else if (item.kind === 'different') {
      d.different++;
      note(d.sample.different, item.s3.key);
    } else if (item.kind === 'extra') {
      d.extra++;
      note(d.sample.extra, item.gcs.name);
    }
  }
  return { measured: m, deep: d, exclusions };
}
