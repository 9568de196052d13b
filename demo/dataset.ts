// The demo's source bucket, described as data: every object's key, size, headers and how it is uploaded.
// Contents are a deterministic keystream of the key, so any copy can be checked without keeping a copy.
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export interface DemoObject {
  key: string;
  sizeBytes: number;
  /** Uploaded with multipart (its S3 ETag is `md5(part md5s)-N`). */
  multipart: boolean;
  contentType?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
  /** Multipart with exactly these part sizes (non-uniform allowed; they must sum to sizeBytes). */
  partBytes?: number[];
  /** S3 storage class on upload (`x-amz-storage-class`), e.g. GLACIER for an archived object. */
  storageClass?: string;
  /** The bytes are the keystream of this string instead of the key's (an overwrite with new content). */
  contentSeed?: string;
}

const MiB = 1024 * 1024;

/** A small PRNG so the same scale always gives the same bucket. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface DatasetOptions {
  root: string; // e.g. 'data/'
  subfolders: number;
  objectsPerSubfolder: number;
  /** Sizes of the big multipart objects (the demo's tail: ~100 MiB). */
  bigObjectsBytes: number[];
  /** Share of objects of up to 3 MiB (default 0.1); the rest are empty (5%) or up to 64 KiB. */
  mediumFraction?: number;
}

export function buildDataset(o: DatasetOptions): DemoObject[] {
  const rnd = prng(42);
  const out: DemoObject[] = [];
  for (let i = 0; i < o.subfolders; i++) {
    const dir = `${o.root}set-${String(i).padStart(4, '0')}/`;
    const n = 1 + Math.floor(rnd() * o.objectsPerSubfolder * 2);
    for (let j = 0; j < n; j++) {
      // Mostly small objects, as real buckets are; some empty, a few of several MiB.
      const r = rnd();
      const size = r < 0.05 ? 0 : r < 1 - (o.mediumFraction ?? 0.1) ? Math.floor(rnd() * 64 * 1024) : Math.floor(rnd() * 3 * MiB);
      const nested = rnd() < 0.2 ? 'nested/deeper/' : '';
      out.push({
        key: `${dir}${nested}obj-${j}.bin`,
        sizeBytes: size,
        multipart: false,
        contentType: j % 3 === 0 ? 'application/octet-stream' : 'text/plain; charset=utf-8',
        cacheControl: j % 5 === 0 ? 'public, max-age=3600' : undefined,
        metadata: j % 4 === 0 ? { owner: `team-${j % 7}`, source: 'demo' } : undefined,
      });
    }
  }
  const odd = `${o.root}odd keys/`;
  for (const name of ['space file.txt', 'plus+sign.txt', 'percent%20literal.txt', 'unicodé-日本語.txt', 'hash#q?amp&.txt', 'trailing dot.', 'double//slash.txt']) {
    out.push({ key: odd + name, sizeBytes: 1000 + name.length, multipart: false, contentType: 'text/plain' });
  }
  // Case-only differences are different subfolders and different objects.
  out.push({ key: `${o.root}Case/x.txt`, sizeBytes: 11, multipart: false });
  out.push({ key: `${o.root}case/x.txt`, sizeBytes: 12, multipart: false });
  // A folder holding only subfolders.
  out.push({ key: `${o.root}only-subfolders/a/x.bin`, sizeBytes: 2048, multipart: false });
  out.push({ key: `${o.root}only-subfolders/b/y.bin`, sizeBytes: 4096, multipart: false });
  // Multipart objects: verified exactly through their md5-of-part-md5s ETag.
  o.bigObjectsBytes.forEach((size, i) => {
    out.push({ key: `${o.root}big/multipart-${i}.bin`, sizeBytes: size, multipart: true, contentType: 'application/x-demo', metadata: { part: String(i) } });
  });
  out.push({ key: `${o.root}big/multipart-small-parts.bin`, sizeBytes: 12 * MiB + 123, multipart: true });
  return out;
}

/** The object's bytes: AES-CTR keystream keyed by the object key (fast, deterministic, incompressible). */
export function contentStream(key: string, sizeBytes: number): Readable {
  const k = createHash('sha256').update(key).digest();
  const cipher = createCipheriv('aes-128-ctr', k.subarray(0, 16), k.subarray(16, 32));
  const chunk = Buffer.alloc(256 * 1024);
  let left = sizeBytes;
  return new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(cipher.update(chunk.subarray(0, n)));
    },
  });
}

export async function expectedMd5(key: string, sizeBytes: number): Promise<string> {
  const h = createHash('md5');
  for await (const b of contentStream(key, sizeBytes)) h.update(b as Buffer);
  return h.digest('hex');
}
