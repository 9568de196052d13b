// An independent judge of copies: lists both sides through the SDKs (@aws-sdk/client-s3 and
// @google-cloud/storage), downloads every object from both, and compares sizes and the MD5 of the bytes
// themselves (never an ETag, md5Hash or anything the tool recorded). It shares no code with src/, so a bug
// in the tool's lister, diff, checksum handling or counters cannot hide behind it. The chaos run of issue 14
// (bench/chaos) uses the same judge. Archived objects (GLACIER, DEEP_ARCHIVE, Intelligent-Tiering archive
// tiers: S3 refuses to serve them) are out of scope: listed in `archived`, never compared.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import pLimit from 'p-limit';
import { makeS3Client } from '../stack/s3Client.js';

export interface CopyReport {
  /** S3 objects found byte-identical in GCS (and, when asked, with their metadata). */
  objects: number;
  /** Their bytes. */
  bytes: number;
  /** S3 keys with no GCS object under the mapped name. */
  missing: string[];
  /** S3 keys whose GCS object holds other bytes (size, or MD5 of the downloaded bytes). */
  different: string[];
  /** S3 keys whose GCS copy lacks the source's Content-Type, Cache-Control or a user metadata entry. */
  metadataLost: string[];
  /** GCS names under the prefix that no compared S3 object maps to (a skipped key's copy included). */
  extra: string[];
  /** S3 keys S3 cannot serve until restored (archived storage class or access tier): not compared. */
  archived: string[];
  archivedBytes: number;
  /** In-scope S3 objects (not archived, not skipped) and their bytes, from S3's listing. */
  s3Objects: number;
  s3Bytes: number;
  /** Everything GCS lists under the prefix, and its bytes. */
  gcsObjects: number;
  gcsBytes: number;
  /** With `skip`: the S3 keys not compared. */
  skipped?: string[];
}

export interface CompareOptions {
  s3Bucket: string;
  /** Everything under it is in scope; the GCS name is gcsPrefix + the key's rest. */
  s3Prefix: string;
  gcsBucket: string;
  gcsPrefix: string;
  /** Also compare Content-Type, Cache-Control and user metadata (the cdn copy path keeps them; gcloud does not). */
  metadata?: boolean;
  concurrency?: number;
  /**
   * S3 keys to leave out (e.g. archived objects S3 will not serve): not downloaded, not counted; their
   * mapped names count as extra if GCS holds them, so a copy that should not exist is still caught.
   */
  skip?: (key: string) => boolean;
  s3?: S3Client;
  storage?: Storage;
}

interface GcsMeta {
  size?: string | number;
  contentType?: string;
  cacheControl?: string;
  metadata?: Record<string, unknown>;
}

async function md5Of(body: AsyncIterable<Uint8Array>): Promise<{ md5: string; size: number }> {
  const h = createHash('md5');
  let size = 0;
  for await (const chunk of body) {
    h.update(chunk);
    size += chunk.length;
  }
  return { md5: h.digest('hex'), size };
}

/** Every object under the prefix. Keys come URL-encoded (`EncodingType=url`), so control characters survive XML. */
async function listS3(s3: S3Client, bucket: string, prefix: string): Promise<_Object[]> {
  const out: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, EncodingType: 'url' }));
    for (const c of page.Contents ?? []) out.push({ ...c, Key: decodeURIComponent(c.Key!.replace(/\+/g, ' ')) });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** S3 serves GLACIER and DEEP_ARCHIVE objects only once restored, Intelligent-Tiering ones in an archive tier neither. */
async function isArchived(s3: S3Client, bucket: string, o: _Object): Promise<boolean> {
  if (o.StorageClass === 'GLACIER' || o.StorageClass === 'DEEP_ARCHIVE') {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key }));
    return !/ongoing-request="false"/.test(head.Restore ?? '');
  }
  if (o.StorageClass !== 'INTELLIGENT_TIERING') return false;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key }));
  return head.ArchiveStatus !== undefined;
}

/** True when every header and user metadata entry the S3 object has is on the GCS copy too. */
async function metadataKept(s3: S3Client, bucket: string, key: string, gcs: GcsMeta): Promise<boolean> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const custom = gcs.metadata ?? {};
  return (
    (head.ContentType === undefined || gcs.contentType === head.ContentType) &&
    (head.CacheControl === undefined || gcs.cacheControl === head.CacheControl) &&
    Object.entries(head.Metadata ?? {}).every(([k, v]) => custom[k] === v)
  );
}

export async function compareCopies(o: CompareOptions): Promise<CopyReport> {
  const s3 = o.s3 ?? makeS3Client();
  const storage = o.storage ?? new Storage({ projectId: 'ott-local', apiEndpoint: process.env.OTT_GCS_ENDPOINT });
  const bucket = storage.bucket(o.gcsBucket);
  const listed = await listS3(s3, o.s3Bucket, o.s3Prefix);
  const [files] = await bucket.getFiles({ prefix: o.gcsPrefix, autoPaginate: true });
  const inGcs = new Set(files.map((f) => f.name));
  const gcsName = (key: string): string => o.gcsPrefix + key.slice(o.s3Prefix.length);
  const r: CopyReport = { objects: 0, bytes: 0, missing: [], different: [], metadataLost: [], extra: [], archived: [], archivedBytes: 0, s3Objects: 0, s3Bytes: 0, gcsObjects: files.length, gcsBytes: 0 };
  for (const f of files) r.gcsBytes += Number(f.metadata.size ?? 0);
  if (o.skip) r.skipped = listed.map((obj) => obj.Key!).filter((k) => o.skip!(k)).sort();
  const limit = pLimit(o.concurrency ?? 6);
  const archived = await Promise.all(listed.map((obj) => limit(() => isArchived(s3, o.s3Bucket, obj))));
  const keys: string[] = [];
  listed.forEach((obj, i) => {
    if (o.skip?.(obj.Key!)) return;
    if (archived[i]) {
      r.archived.push(obj.Key!);
      r.archivedBytes += obj.Size ?? 0;
      return;
    }
    keys.push(obj.Key!);
    r.s3Objects++;
    r.s3Bytes += obj.Size ?? 0;
  });
  // An archived object's name in GCS is not extra (a copy made before it was archived is still its copy);
  // a skipped key's is (the caller says no copy should exist).
  const mapped = new Set(listed.filter((obj) => !o.skip?.(obj.Key!)).map((obj) => gcsName(obj.Key!)));
  r.extra = [...inGcs].filter((n) => !mapped.has(n)).sort();
  await Promise.all(
    keys.map((key) =>
      limit(async () => {
        const name = gcsName(key);
        if (!inGcs.has(name)) return void r.missing.push(key);
        const got = await s3.send(new GetObjectCommand({ Bucket: o.s3Bucket, Key: key }));
        const source = await md5Of(got.Body as Readable);
        const copy = await md5Of(bucket.file(name).createReadStream({ validation: false }));
        if (source.md5 !== copy.md5 || source.size !== copy.size) return void r.different.push(key);
        if (o.metadata) {
          const [meta] = (await bucket.file(name).getMetadata()) as unknown as [GcsMeta];
          if (!(await metadataKept(s3, o.s3Bucket, key, meta))) return void r.metadataLost.push(key);
        }
        r.objects++;
        r.bytes += source.size;
      }),
    ),
  );
  for (const list of [r.missing, r.different, r.metadataLost, r.archived]) list.sort();
  return r;
}
