// S3 Inventory deliveries in AWS's exact format, written into the S3 emulator: data files (CSV gzip, or
// Parquet with AWS's column names and types) under `PREFIX/SOURCE/CONFIG/data/`, and a manifest.json with
// AWS's fields (sourceBucket, destinationBucket as an ARN, version, creationTimestamp in epoch ms as a
// string, fileFormat, fileSchema, files [{key, size, MD5checksum}]) under `PREFIX/SOURCE/CONFIG/<time>/`.
// Shares no code with src/: it is what AWS would deliver, not what the tool expects.
import { createHash, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** One line of the inventory: a current object, an older version, or a delete marker. */
export interface InventoryLine {
  key: string;
  size?: number;
  etag?: string;
  lastModified?: Date;
  storageClass?: string;
  versionId?: string;
  isLatest?: boolean;
  isDeleteMarker?: boolean;
  multipart?: boolean;
}

export const CSV_SCHEMA =
  'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm';

export const PARQUET_SCHEMA =
  'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional binary version_id (STRING); optional boolean is_latest; ' +
  'optional boolean is_delete_marker; optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional binary e_tag (STRING); ' +
  'optional binary storage_class (STRING); optional boolean is_multipart_uploaded;}';

/** CSV inventories URL-encode the key (a space as `+`, as S3's url encoding of listings does). */
const encodeKey = (k: string): string => encodeURIComponent(k).replace(/%20/g, '+');
const q = (v: string | undefined): string => `"${(v ?? '').replace(/"/g, '""')}"`;

export function csvGz(bucket: string, lines: InventoryLine[]): Buffer {
  const text = lines
    .map((l) =>
      [
        bucket,
        encodeKey(l.key),
        l.versionId ?? '',
        String(l.isLatest ?? true),
        String(l.isDeleteMarker ?? false),
        l.size === undefined ? '' : String(l.size),
        l.lastModified?.toISOString() ?? '',
        l.etag ?? '',
        l.storageClass ?? '',
        l.isDeleteMarker ? '' : String(l.multipart ?? false),
        '',
        'SSE-S3',
        '',
        '',
        '',
        '',
        'DISABLED',
        '',
      ]
        .map(q)
        .join(','),
    )
    .join('\n');
  return gzipSync(`${text}\n`);
}

/** `rowGroupSize`: small by default, so the reader must walk several; a benchmark passes AWS-like sizes. */
export function parquet(bucket: string, lines: InventoryLine[], rowGroupSize = 3): Buffer {
  const ab = parquetWriteBuffer({
    columnData: [
      { name: 'bucket', data: lines.map(() => bucket), type: 'STRING', nullable: false },
      { name: 'key', data: lines.map((l) => l.key), type: 'STRING', nullable: false },
      { name: 'version_id', data: lines.map((l) => l.versionId ?? null), type: 'STRING' },
      { name: 'is_latest', data: lines.map((l) => l.isLatest ?? true), type: 'BOOLEAN' },
      { name: 'is_delete_marker', data: lines.map((l) => l.isDeleteMarker ?? false), type: 'BOOLEAN' },
      { name: 'size', data: lines.map((l) => (l.size === undefined ? null : BigInt(l.size))), type: 'INT64' },
      { name: 'last_modified_date', data: lines.map((l) => l.lastModified ?? null), type: 'TIMESTAMP' },
      { name: 'e_tag', data: lines.map((l) => l.etag ?? null), type: 'STRING' },
      { name: 'storage_class', data: lines.map((l) => l.storageClass ?? null), type: 'STRING' },
      { name: 'is_multipart_uploaded', data: lines.map((l) => (l.isDeleteMarker ? null : (l.multipart ?? false))), type: 'BOOLEAN' },
    ],
    rowGroupSize,
  });
  return Buffer.from(ab);
}

export interface Delivery {
  /** s3://DEST/PREFIX/SOURCE/CONFIG/ (a prefix the newest manifest is found under). */
  prefixUrl: string;
  manifestUrl: string;
  manifestKey: string;
  dataKeys: string[];
}

/**
 * Writes one delivery: `files` data files (already encoded), and its manifest at time `at`. `corrupt` puts
 * the data file's bytes changed after its MD5 went into the manifest (what a damaged delivery looks like).
 */
export async function putDelivery(
  s3: S3Client,
  o: { dest: string; prefix: string; source: string; config: string; at: Date; format: 'CSV' | 'Parquet' | 'ORC'; files: Buffer[]; corrupt?: number },
): Promise<Delivery> {
  const base = `${o.prefix}${o.source}/${o.config}/`;
  const ext = o.format === 'CSV' ? 'csv.gz' : o.format === 'Parquet' ? 'parquet' : 'orc';
  const files = [];
  for (const [i, body] of o.files.entries()) {
    const key = `${base}data/${randomUUID()}.${ext}`;
    const stored = Buffer.from(body);
    if (o.corrupt === i) stored[Math.floor(stored.length / 2)] ^= 0xff;
    await s3.send(new PutObjectCommand({ Bucket: o.dest, Key: key, Body: stored }));
    files.push({ key, size: body.length, MD5checksum: createHash('md5').update(body).digest('hex') });
  }
  const stamp = o.at.toISOString().slice(0, 16).replace(':', '-') + 'Z';
  const manifestKey = `${base}${stamp}/manifest.json`;
  const manifest = {
    sourceBucket: o.source,
    destinationBucket: `arn:aws:s3:::${o.dest}`,
    version: '2016-11-30',
    creationTimestamp: String(o.at.getTime()),
    fileFormat: o.format,
    fileSchema: o.format === 'CSV' ? CSV_SCHEMA : PARQUET_SCHEMA,
    files,
  };
  const text = JSON.stringify(manifest, null, 2);
  await s3.send(new PutObjectCommand({ Bucket: o.dest, Key: manifestKey, Body: text }));
  await s3.send(new PutObjectCommand({ Bucket: o.dest, Key: `${base}${stamp}/manifest.checksum`, Body: createHash('md5').update(text).digest('hex') }));
  return { prefixUrl: `s3://${o.dest}/${base}`, manifestUrl: `s3://${o.dest}/${manifestKey}`, manifestKey, dataKeys: files.map((f) => f.key) };
}
