// An inventory's data files: each is downloaded to a temporary file while its MD5 is computed, checked
// against the manifest's MD5checksum (a corrupted or truncated file is refused before one row of it is
// used), then read back a slice at a time: CSV (gzip) streamed line by line, Parquet a row-group slice at
// a time (hyparquet reads the footer, then only the pages it needs). Nothing is ever whole in memory.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { withRetry, type RetryLimits } from '../../retry.js';
import { unquoteEtag } from '../etag.js';
import { decodeListed } from '../s3List.js';
import type { InventoryFile, InventoryManifest } from './manifest.js';

/** One current object of the inventory (older versions and delete markers are left out). */
export interface InventoryRow {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  storageClass?: string;
}

/** Rows handed on at a time. */
const ROWS_PER_SLICE = 10_000;

/** A column name as CSV (`LastModifiedDate`) or Parquet (`last_modified_date`) spells it. */
const norm = (name: string): string => name.toLowerCase().replace(/_/g, '');
const REQUIRED = ['key', 'size', 'lastmodifieddate', 'etag'] as const;

/** Which of the manifest's columns hold what; an inventory without size, time or ETag cannot drive a verified copy. */
function columnsOf(names: string[], where: string): Record<string, number> {
  const at: Record<string, number> = {};
  names.forEach((n, i) => (at[norm(n)] = i));
  const missing = REQUIRED.filter((c) => at[c] === undefined);
  if (missing.length) {
    throw new Error(`inventory ${where} lacks the fields ${missing.join(', ')} (has: ${names.join(', ')}): add Size, Last modified and ETag to the inventory configuration`);
  }
  return at;
}

/**
 * Downloads one data file to `dir`, hashing it on the way; returns its path once its MD5 and size are the
 * manifest's. A mismatch throws: the file is corrupted (or truncated), and nothing of it is read.
 */
export async function downloadVerified(s3: S3Client, m: InventoryManifest, f: InventoryFile, dir: string, signal: AbortSignal, retry: RetryLimits): Promise<string> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const where = `s3://${m.bucket}/${f.key}`;
  const path = join(dir, 'data');
  const got = await withRetry(
    async () => {
      const r = await s3.send(new GetObjectCommand({ Bucket: m.bucket, Key: f.key }), { abortSignal: signal });
      const md5 = createHash('md5');
      let size = 0;
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      });
      await pipeline(r.Body as Readable, hashing, createWriteStream(path), { signal });
      return { md5Hex: md5.digest('hex'), size };
    },
    { ...retry, signal },
  );
  if (got.md5Hex !== f.md5Hex || got.size !== f.size) {
    throw new Error(
      `inventory data file ${where} is corrupted: MD5 ${got.md5Hex} and ${got.size} bytes, the manifest ${m.url} says MD5 ${f.md5Hex} and ${f.size} bytes; ` +
        'nothing of it was loaded and the dump stops (no subfolder is marked missing): run it again once the file is whole, or use a newer inventory',
    );
  }
  return path;
}

/** Each data file of the manifest, verified, as slices of current objects. */
export async function* inventoryRows(s3: S3Client, m: InventoryManifest, signal: AbortSignal, retry: RetryLimits): AsyncGenerator<InventoryRow[]> {
  const at = columnsOf(m.columns, m.url);
  for (const f of m.files) {
    const dir = await mkdtemp(join(tmpdir(), 'ott-inventory-'));
    try {
      const path = await downloadVerified(s3, m, f, dir, signal, retry);
      const where = `s3://${m.bucket}/${f.key}`;
      yield* m.format === 'CSV' ? csvRows(path, at, where) : parquetRows(path, where);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** A CSV line of S3 Inventory: every field double-quoted (a quote inside doubled), comma-separated. */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(v);
    } else {
      const c = line.indexOf(',', i);
      out.push(line.slice(i, c < 0 ? line.length : c));
      i = c < 0 ? line.length : c;
    }
    if (line[i] !== ',') break;
    i++;
  }
  return out;
}

function current(isLatest: unknown, isDeleteMarker: unknown): boolean {
  const yes = (v: unknown): boolean => v === true || v === 'true';
  // Absent (an inventory of current versions only) or null counts as current.
  return (isLatest == null || isLatest === '' || yes(isLatest)) && !yes(isDeleteMarker);
}

async function* csvRows(path: string, at: Record<string, number>, where: string): AsyncGenerator<InventoryRow[]> {
  const input = createReadStream(path, { highWaterMark: 1 << 16 }).pipe(createGunzip());
  input.setEncoding('utf8');
  let rest = '';
  let lineNo = 0;
  let slice: InventoryRow[] = [];
  const parse = (line: string): void => {
    lineNo++;
    if (!line) return;
    let f: string[];
    try {
      f = csvFields(line.endsWith('\r') ? line.slice(0, -1) : line);
    } catch (err) {
      throw new Error(`inventory ${where} line ${lineNo}: ${(err as Error).message}`, { cause: err });
    }
    if (!current(f[at.islatest], f[at.isdeletemarker])) return;
    // CSV inventories URL-encode keys (as a listing asked with EncodingType=url: a space is `+`).
    const row = toRow(decodeListed(f[at.key]), f[at.size], f[at.lastmodifieddate], f[at.etag], f[at.storageclass]);
    if (typeof row === 'string') throw new Error(`inventory ${where} line ${lineNo}: ${row}`);
    slice.push(row);
  };
  for await (const chunk of input as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) parse(line);
    if (slice.length >= ROWS_PER_SLICE) {
      yield slice;
      slice = [];
    }
  }
  parse(rest);
  if (slice.length) yield slice;
}

/** A row from its fields, or why it cannot be one. */
function toRow(key: string, size: unknown, lastModified: unknown, etag: unknown, storageClass: unknown): InventoryRow | string {
  const n = typeof size === 'bigint' ? Number(size) : Number(size);
  const t = lastModified instanceof Date ? lastModified : new Date(typeof lastModified === 'bigint' ? Number(lastModified) : (lastModified as string | number));
  const e = typeof etag === 'string' ? unquoteEtag(etag) : '';
  if (!key || !Number.isSafeInteger(n) || n < 0 || Number.isNaN(t.getTime()) || !e) {
    return `object ${JSON.stringify(key)} without a key, size, last-modified time or ETag (size ${String(size)}, time ${String(lastModified)}, ETag ${String(etag)})`;
  }
  return { key, size: n, etag: e, lastModified: t, ...(typeof storageClass === 'string' && storageClass ? { storageClass } : {}) };
}

async function* parquetRows(path: string, where: string): AsyncGenerator<InventoryRow[]> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const names = parquetSchema(metadata).children.map((c) => c.element.name);
  const at = columnsOf(names, where);
  const col = (c: string): string | undefined => (at[c] === undefined ? undefined : names[at[c]]);
  const columns = ['key', 'size', 'lastmodifieddate', 'etag', 'storageclass', 'islatest', 'isdeletemarker'].map(col).filter((c): c is string => !!c);
  // A slice of a row group at a time: with the file's offset index (parquet-mr writes one) only its pages are
  // read; without, each slice reads the group's column chunks from the local file again (I/O, not memory).
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const groupEnd = rowStart + Number(group.num_rows);
    for (let from = rowStart; from < groupEnd; from += ROWS_PER_SLICE) {
      const rows = (await parquetReadObjects({ file, metadata, columns, rowStart: from, rowEnd: Math.min(groupEnd, from + ROWS_PER_SLICE), compressors, useOffsetIndex: true })) as Record<string, unknown>[];
      const slice: InventoryRow[] = [];
      for (const r of rows) {
        const v = (c: string): unknown => (col(c) === undefined ? undefined : r[col(c)!]);
        if (!current(v('islatest'), v('isdeletemarker'))) continue;
        const row = toRow(String(v('key') ?? ''), v('size'), v('lastmodifieddate'), v('etag'), v('storageclass'));
        if (typeof row === 'string') throw new Error(`inventory ${where}: ${row}`);
        slice.push(row);
      }
      if (slice.length) yield slice;
    }
    rowStart = groupEnd;
  }
}
