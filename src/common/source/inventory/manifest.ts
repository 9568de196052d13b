// An S3 Inventory's manifest.json, as AWS writes it beside each delivery
// (`destination-prefix/source-bucket/config-ID/YYYY-MM-DDTHH-MMZ/manifest.json`):
//   { "sourceBucket", "destinationBucket": "arn:aws:s3:::BUCKET", "version", "creationTimestamp" (epoch ms,
//     a string), "fileFormat": "CSV" | "Parquet" | "ORC", "fileSchema", "files": [{ "key", "size", "MD5checksum" }] }
// CSV's fileSchema is the column list ("Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, ...");
// Parquet's is the file's message type (`message s3.inventory { required binary bucket (STRING); ... }`).
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { withRetry, type RetryLimits } from '../../retry.js';
import { decodeListed } from '../s3List.js';

export type InventoryFormat = 'CSV' | 'Parquet';

export interface InventoryFile {
  key: string;
  size: number;
  md5Hex: string;
}

export interface InventoryManifest {
  /** Where the manifest was read: s3://BUCKET/KEY. */
  url: string;
  sourceBucket: string;
  /** The bucket holding the data files (the manifest's destinationBucket ARN, resolved). */
  bucket: string;
  createdAt: Date;
  format: InventoryFormat;
  /** CSV: the column names in order; Parquet: the names the schema declares. */
  columns: string[];
  files: InventoryFile[];
}

const manifestSchema = z.object({
  sourceBucket: z.string().min(1),
  destinationBucket: z.string().min(1),
  version: z.string(),
  creationTimestamp: z.union([z.string(), z.number()]),
  fileFormat: z.string(),
  fileSchema: z.string().min(1),
  files: z.array(z.object({ key: z.string().min(1), size: z.number().int().nonnegative(), MD5checksum: z.string().regex(/^[0-9a-fA-F]{32}$/) })),
});

/** s3://BUCKET/KEY -> its parts; anything else is refused. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new Error(`--inventory: got ${JSON.stringify(url)}, expected s3://BUCKET/PREFIX/manifest.json or s3://BUCKET/PREFIX/`);
  return { bucket: m[1], key: m[2] };
}

/** The manifest's text, validated: unknown formats and ORC are refused, the columns named. */
export function parseManifest(text: string, url: string): InventoryManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`inventory manifest ${url} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`inventory manifest ${url}: field ${i.path.join('.') || '(root)'}: ${i.message}; expected the manifest.json S3 Inventory writes`);
  }
  const m = r.data;
  const format = m.fileFormat.toUpperCase();
  if (format === 'ORC') {
    throw new Error(`inventory manifest ${url} lists ORC files, which ott does not read: configure the inventory with CSV or Parquet output (both hold the same fields)`);
  }
  if (format !== 'CSV' && format !== 'PARQUET') throw new Error(`inventory manifest ${url}: fileFormat ${JSON.stringify(m.fileFormat)} is not CSV, Parquet or ORC`);
  const created = Number(m.creationTimestamp);
  return {
    url,
    sourceBucket: m.sourceBucket,
    bucket: m.destinationBucket.replace(/^arn:aws[\w-]*:s3:::/, ''),
    createdAt: new Date(Number.isFinite(created) ? created : Date.parse(String(m.creationTimestamp))),
    format: format === 'CSV' ? 'CSV' : 'Parquet',
    columns: format === 'CSV' ? m.fileSchema.split(',').map((c) => c.trim()) : [...m.fileSchema.matchAll(/(?:required|optional)\s+\w+\s+(\w+)/g)].map((x) => x[1]),
    files: m.files.map((f) => ({ key: f.key, size: f.size, md5Hex: f.MD5checksum.toLowerCase() })),
  };
}

/**
 * The manifest a `--inventory` URL names: the key itself when it ends in manifest.json, else the newest
 * `.../YYYY-MM-DDTHH-MMZ/manifest.json` under it (the delivery folders' names sort as their times do).
 */
export async function readManifest(s3: S3Client, url: string, signal: AbortSignal, retry: RetryLimits): Promise<InventoryManifest> {
  const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const { bucket, key: given } = parseS3Url(url);
  let key = given;
  if (!key.endsWith('manifest.json')) {
    const prefix = key && !key.endsWith('/') ? `${key}/` : key;
    // Newest by the delivery's time folder (then key): a prefix may hold several configurations' deliveries.
    let newest: { at: string; key: string } | undefined;
    let token: string | undefined;
    do {
      const page = await withRetry(() => s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, EncodingType: 'url', ContinuationToken: token }), { abortSignal: signal }), { ...retry, signal });
      for (const o of page.Contents ?? []) {
        const k = o.Key === undefined ? '' : page.EncodingType === 'url' ? decodeListed(o.Key) : o.Key;
        const at = /\/(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)\/manifest\.json$/.exec(k)?.[1];
        if (at && (!newest || at > newest.at || (at === newest.at && k > newest.key))) newest = { at, key: k };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (!newest) throw new Error(`--inventory ${url}: no S3 Inventory manifest (.../YYYY-MM-DDTHH-MMZ/manifest.json) under it`);
    key = newest.key;
  }
  const where = `s3://${bucket}/${key}`;
  const text = await withRetry(
    async () => {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
      return r.Body!.transformToString('utf8');
    },
    { ...retry, signal },
  );
  return parseManifest(text, where);
}
