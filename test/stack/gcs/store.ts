// The emulator's state: buckets and object metadata live in memory (a map plus a sorted name index per
// bucket, for listing); object bytes live on disk under random file names, never the object name, so any
// UTF-8 name up to 1024 bytes works. In discard mode no byte touches the disk.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { link, rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { crc32c, crc32cBase64 } from '../crc32c.js';
import { GcsError, noSuchBucket } from './errors.js';

export interface ObjectMeta {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  /** Absent for composed objects, as in GCS. */
  md5Hash?: string;
  crc32c: string;
  contentType: string;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  metadata?: Record<string, string>;
  storageClass: string;
  timeCreated: string;
  updated: string;
  componentCount?: number;
  /** Path of the bytes; absent when the emulator discards bytes. */
  file?: string;
}

export interface Bucket {
  name: string;
  timeCreated: string;
  updated: string;
  metageneration: number;
  location: string;
  storageClass: string;
  objects: Map<string, ObjectMeta>;
  /** Names in UTF-8 byte order (GCS's listing order). */
  sorted: string[];
}

/** Orders names as their UTF-8 bytes do: code point order, where surrogate pairs sort after U+FFFF. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  const sx = x >= 0xd800 && x <= 0xdfff;
  const sy = y >= 0xd800 && y <= 0xdfff;
  if (sx !== sy) return sx ? 1 : -1;
  return x - y;
}

/** First index in sorted whose name is >= name. */
export function lowerBound(sorted: string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(sorted[mid], name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface Written {
  size: number;
  md5Hash: string;
  crc32c: string;
  tmp?: string;
}

/** Receives an object's bytes, hashing them as they stream; bytes go to a temp file unless discarding. */
export class ObjectWriter {
  size = 0;
  private md5: Hash = createHash('md5');
  private crc = 0;
  private ws?: WriteStream;
  private failed?: Error;

  constructor(readonly tmp?: string) {
    if (tmp) {
      this.ws = createWriteStream(tmp);
      // Recorded, not thrown: an aborted upload destroys the stream with writes still in flight.
      this.ws.on('error', (err) => (this.failed ??= err));
    }
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    // A session cancelled (DELETE) while one of its chunk PUTs is still streaming: refuse the rest of
    // that chunk instead of writing into a destroyed file stream.
    if (this.ws?.destroyed) throw (this.failed = new Error('upload session was cancelled'));
    this.md5.update(chunk);
    this.crc = crc32c(chunk, this.crc);
    this.size += chunk.length;
    if (this.ws && !this.ws.write(chunk)) await once(this.ws, 'drain');
  }

  /** Flushes the temp file; the writer stays usable for digests (a resumable session can be queried again). */
  async finish(): Promise<Written> {
    if (this.failed) throw this.failed;
    if (this.ws && !this.ws.writableFinished) {
      this.ws.end();
      await once(this.ws, 'finish');
    }
    return { size: this.size, md5Hash: this.md5.copy().digest('base64'), crc32c: crc32cBase64(this.crc), tmp: this.tmp };
  }

  async abort(): Promise<void> {
    this.failed ??= new Error('upload session was cancelled');
    if (this.ws) {
      this.ws.destroy();
      await unlink(this.ws.path as string).catch(() => undefined);
    }
  }
}

export interface Stats {
  objects: number;
  /** Objects written by uploads (each resumable session and each completed multipart upload counts once). */
  uploads: number;
  /** Bytes of those objects. */
  bytesReceived: number;
  requests: number;
  /** XML API multipart parts accepted, and their bytes (a part sent again counts again). */
  parts: number;
  partBytes: number;
}

export class Store {
  readonly buckets = new Map<string, Bucket>();
  readonly stats: Stats = { objects: 0, uploads: 0, bytesReceived: 0, requests: 0, parts: 0, partBytes: 0 };
  private lastGeneration = 0;
  /** Callers of objectsReach() waiting for `objects` to reach their count. */
  private readonly objectWaiters = new Set<{ atLeast: number; wake: () => void }>();
  private readonly tmpDir?: string;
  private readonly objDir?: string;

  constructor(dir: string | undefined) {
    if (dir) {
      this.tmpDir = join(dir, 'tmp');
      this.objDir = join(dir, 'objects');
      mkdirSync(this.tmpDir, { recursive: true });
      mkdirSync(this.objDir, { recursive: true });
    }
  }

  /** Zeroes the traffic counters; `objects` stays the number of live objects. */
  resetStats(): void {
    Object.assign(this.stats, { uploads: 0, bytesReceived: 0, requests: 0, parts: 0, partBytes: 0 });
  }

  /**
   * Resolves once `objects` is at least `atLeast`, or after `ms`: a benchmark's finish line without polling
   * (a poll every few ms is CPU taken from the run it watches, on the same cores).
   */
  objectsReach(atLeast: number, ms: number): Promise<void> {
    if (this.stats.objects >= atLeast || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const w = {
        atLeast,
        wake: (): void => {
          clearTimeout(timer);
          this.objectWaiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(w.wake, ms);
      this.objectWaiters.add(w);
    });
  }

  get discarding(): boolean {
    return !this.objDir;
  }

  /** Microseconds since the epoch, strictly increasing, as GCS generations are. */
  nextGeneration(): string {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }

  bucket(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw noSuchBucket(name);
    return b;
  }

  createBucket(name: string, location = 'US', storageClass = 'STANDARD'): Bucket {
    if (!/^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$/.test(name)) throw new GcsError(400, 'invalid', `Invalid bucket name: '${name}'`);
    if (this.buckets.has(name)) throw new GcsError(409, 'conflict', 'Your previous request to create the named bucket succeeded and you already own it.');
    const now = new Date().toISOString();
    const b: Bucket = { name, timeCreated: now, updated: now, metageneration: 1, location: location.toUpperCase(), storageClass, objects: new Map(), sorted: [] };
    this.buckets.set(name, b);
    return b;
  }

  deleteBucket(name: string): void {
    const b = this.bucket(name);
    if (b.objects.size > 0) throw new GcsError(409, 'conflict', 'The bucket you tried to delete is not empty.');
    this.buckets.delete(name);
  }

  newWriter(): ObjectWriter {
    return new ObjectWriter(this.newTempPath());
  }

  /** A fresh temp file path for bytes not yet an object; undefined when discarding. */
  newTempPath(): string | undefined {
    return this.tmpDir ? join(this.tmpDir, randomBytes(12).toString('hex')) : undefined;
  }

  /** A fresh path for bytes that another object already has (copies share the file by hard link). */
  async linkCopy(file: string | undefined): Promise<string | undefined> {
    if (!file || !this.objDir) return undefined;
    const dest = join(this.objDir, randomBytes(12).toString('hex'));
    await link(file, dest);
    return dest;
  }

  /** Moves a finished temp file into place; returns its final path. */
  async adopt(tmp: string | undefined): Promise<string | undefined> {
    if (!tmp || !this.objDir) return undefined;
    const dest = join(this.objDir, randomBytes(12).toString('hex'));
    await rename(tmp, dest);
    return dest;
  }

  /** Installs meta as the live version of its name; the replaced version's bytes are released. */
  put(meta: ObjectMeta): void {
    const b = this.bucket(meta.bucket);
    const old = b.objects.get(meta.name);
    b.objects.set(meta.name, meta);
    if (old) {
      if (old.file !== meta.file) this.release(old);
    } else {
      b.sorted.splice(lowerBound(b.sorted, meta.name), 0, meta.name);
      this.stats.objects++;
      for (const w of this.objectWaiters) if (this.stats.objects >= w.atLeast) w.wake();
    }
  }

  remove(bucket: string, name: string): void {
    const b = this.bucket(bucket);
    const old = b.objects.get(name);
    if (!old) return;
    b.objects.delete(name);
    b.sorted.splice(lowerBound(b.sorted, name), 1);
    this.stats.objects--;
    this.release(old);
  }

  private release(meta: ObjectMeta): void {
    // Readers that opened the file keep their handle: unlinking under them is safe on POSIX.
    if (meta.file) void unlink(meta.file).catch(() => undefined);
  }
}
