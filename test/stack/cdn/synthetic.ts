// Deterministic object content for benchmarks: the bytes depend only on the object's size, so a benchmark
// can fetch `/__synthetic/<sizeBytes>/<anything>` through the CDN fixture and know what it must receive
// without S3 in the path (s3rver would be the bottleneck, not the tool under test).
//
// Content: one 1 MiB pseudo-random block (an AES-CTR keystream keyed by the size) repeated and cut
// to the size. Seeding by size keeps objects of different sizes from sharing a prefix, which would let
// a bug that mixes up two objects pass a checksum by luck.
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export const SYNTHETIC_BUCKET = '__synthetic';
export const SYNTHETIC_BLOCK_BYTES = 1024 * 1024;
/** Fixed so a HEAD and a GET (and two fixture runs) agree. */
export const SYNTHETIC_LAST_MODIFIED = new Date(Date.UTC(2026, 0, 1));

const blocks = new Map<number, Buffer>();

/** The repeating block for objects of this size. */
export function syntheticBlock(sizeBytes: number): Buffer {
  const seed = sizeBytes % 4096;
  let block = blocks.get(seed);
  if (!block) {
    // AES-128-CTR keystream: pseudo-random, deterministic, and ~1 ms per block.
    const key = createHash('sha256').update(`ott-synthetic:${seed}`).digest().subarray(0, 16);
    const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    block = Buffer.concat([cipher.update(Buffer.alloc(SYNTHETIC_BLOCK_BYTES)), cipher.final()]);
    blocks.set(seed, block);
  }
  return block;
}

/** Bytes [start, end) of the object of this size, as chunks that share memory with the block (no copies). */
export function* syntheticChunks(sizeBytes: number, start = 0, end = sizeBytes): Generator<Buffer> {
  const block = syntheticBlock(sizeBytes);
  let pos = start;
  while (pos < end) {
    const off = pos % SYNTHETIC_BLOCK_BYTES;
    const n = Math.min(SYNTHETIC_BLOCK_BYTES - off, end - pos);
    yield block.subarray(off, off + n);
    pos += n;
  }
}

/** The whole object (or a range of it) in memory: for tests on small sizes. */
export function syntheticBytes(sizeBytes: number, start = 0, end = sizeBytes): Buffer {
  return Buffer.concat([...syntheticChunks(sizeBytes, start, end)]);
}

/**
 * A stream of bytes [start, end), with backpressure. One chunk per read, as generated: a byte-mode stream
 * read by an iterator (the bandwidth cap's pacing) concatenates whatever it buffered into a new Buffer per
 * read, which cost the CDN fixture more CPU (copies, and their garbage) than sending the bytes.
 */
export function syntheticStream(sizeBytes: number, start = 0, end = sizeBytes): Readable {
  return Readable.from(syntheticChunks(sizeBytes, start, end), { objectMode: true });
}

const md5s = new Map<number, Promise<string>>();

/** Hex MD5 of the whole object; computed once per size, yielding to the event loop between blocks. */
export function syntheticMd5(sizeBytes: number): Promise<string> {
  let p = md5s.get(sizeBytes);
  if (!p) {
    p = (async () => {
      const h = createHash('md5');
      let n = 0;
      for (const chunk of syntheticChunks(sizeBytes)) {
        h.update(chunk);
        if (++n % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      return h.digest('hex');
    })();
    md5s.set(sizeBytes, p);
  }
  return p;
}

/** The ETag S3 would give a single-part upload of this content. */
export async function syntheticEtag(sizeBytes: number): Promise<string> {
  return `"${await syntheticMd5(sizeBytes)}"`;
}
