// The demo's final word: every source object is in GCS, byte-identical (downloaded and hashed), with its
// metadata. Nothing here trusts the tool under test: it recomputes what each object must be.
import { createHash } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import { expectedMd5, type DemoObject } from './dataset.js';

export interface VerifyReport {
  objects: number;
  bytes: number;
  missing: string[];
  different: string[];
  metadataLost: string[];
  allIdentical: boolean;
}

async function downloadMd5(storage: Storage, bucket: string, name: string): Promise<string> {
  const h = createHash('md5');
  for await (const b of storage.bucket(bucket).file(name).createReadStream({ validation: false })) h.update(b as Buffer);
  return h.digest('hex');
}

function commonPrefix(names: string[]): string {
  let p = names[0] ?? '';
  for (const n of names) {
    let i = 0;
    while (i < p.length && p[i] === n[i]) i++;
    p = p.slice(0, i);
  }
  return p;
}

/** The fields verification reads, from a listing item or a metadata GET. */
interface ObjectMeta {
  size?: string | number;
  contentType?: string;
  cacheControl?: string;
  metadata?: Record<string, unknown>;
}

export async function verifyCopies(
  storage: Storage,
  bucket: string,
  gcsName: (s3Key: string) => string,
  objects: DemoObject[],
  concurrency = 8,
): Promise<VerifyReport> {
  const r: VerifyReport = { objects: 0, bytes: 0, missing: [], different: [], metadataLost: [], allIdentical: false };
  // One listing instead of two metadata requests per object; the bytes are still downloaded one by one.
  const names = objects.map((o) => gcsName(o.key));
  const [files] = await storage.bucket(bucket).getFiles({ prefix: commonPrefix(names), autoPaginate: true });
  const listed = new Map(files.map((f) => [f.name, f.metadata as ObjectMeta]));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const o = objects[next++];
      const name = gcsName(o.key);
      let meta = listed.get(name);
      if (!meta) {
        r.missing.push(o.key);
        continue;
      }
      // A listing that omits the object's headers (an emulator's shortcut) is not taken as lost metadata.
      if (meta.contentType === undefined && meta.metadata === undefined) [meta] = (await storage.bucket(bucket).file(name).getMetadata()) as unknown as [ObjectMeta];
      const want = await expectedMd5(o.key, o.sizeBytes);
      const got = await downloadMd5(storage, bucket, name);
      if (Number(meta.size) !== o.sizeBytes || got !== want) {
        r.different.push(o.key);
        continue;
      }
      const custom = (meta.metadata ?? {}) as Record<string, string>;
      const lost =
        (o.contentType && meta.contentType !== o.contentType) ||
        (o.cacheControl && meta.cacheControl !== o.cacheControl) ||
        Object.entries(o.metadata ?? {}).some(([k, v]) => custom[k] !== v);
      if (lost) r.metadataLost.push(o.key);
      r.objects++;
      r.bytes += o.sizeBytes;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  r.allIdentical = r.missing.length === 0 && r.different.length === 0 && r.metadataLost.length === 0;
  return r;
}
