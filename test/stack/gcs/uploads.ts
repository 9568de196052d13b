// Single-request uploads (uploadType=media and multipart) and what every upload shares at the end:
// the bytes are checked against any hash the client sent, then become the object, or nothing is stored.
import { createHash } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { crc32c, crc32cBase64 } from '../crc32c.js';
import { badRequest, GcsError } from './errors.js';
import type { Exchange } from './exchange.js';
import { boundaryOf, readMultipart } from './multipart.js';
import { validName } from './names.js';
import { applyPatch, checkPreconditions, objectResource } from './resource.js';
import type { ObjectMeta, ObjectWriter, Store, Written } from './store.js';

export interface PendingObject {
  bucket: string;
  name: string;
  /** The object resource the client sent (metadata part or resumable session body). */
  metadata: Record<string, unknown>;
  contentType?: string;
  /** The query of the request that named the object: its preconditions apply at finalization. */
  query: URLSearchParams;
}

/** `X-Goog-Hash: crc32c=...,md5=...` as a map. */
export function googHash(header: string | string[] | undefined): { md5?: string; crc32c?: string } {
  const out: { md5?: string; crc32c?: string } = {};
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    if (k === 'md5' || k === 'crc32c') out[k] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The storeCorrupt fault: one byte of the stored file flipped, the digests those bytes really have. */
export async function corruptStored(w: Written): Promise<Written> {
  if (!w.tmp || w.size === 0) throw new Error('the storeCorrupt fault needs a stored (not --discard), non-empty object');
  const data = await readFile(w.tmp);
  data[Math.floor(data.length / 2)] ^= 0xff;
  await writeFile(w.tmp, data);
  return { ...w, md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc32cBase64(crc32c(data, 0)) };
}

/** Checks the received bytes, then installs them as the object; on any failure nothing is stored. */
export async function finalize(ex: Exchange, store: Store, p: PendingObject, writer: ObjectWriter, hashHeader?: string | string[]): Promise<ObjectMeta> {
  try {
    const faulty = ex.fault !== undefined && 'storeCorrupt' in ex.fault;
    const w = faulty ? await corruptStored(await writer.finish()) : await writer.finish();
    const header = faulty ? {} : googHash(hashHeader);
    const claims: Array<[string, unknown, string]> = [
      ['MD5', faulty ? undefined : p.metadata.md5Hash, w.md5Hash],
      ['CRC32C', faulty ? undefined : p.metadata.crc32c, w.crc32c],
      ['MD5', header.md5, w.md5Hash],
      ['CRC32C', header.crc32c, w.crc32c],
    ];
    for (const [kind, claimed, actual] of claims) {
      if (claimed !== undefined && claimed !== actual) {
        throw badRequest(`Provided ${kind} hash "${String(claimed)}" doesn't match calculated ${kind} hash "${actual}".`);
      }
    }
    // The bytes are moved into place first: from the precondition check to put() nothing awaits, so two
    // uploads racing with ifGenerationMatch=0 cannot both pass the check (GCS decides at commit, atomically).
    const file = await store.adopt(w.tmp);
    const b = store.bucket(p.bucket);
    try {
      checkPreconditions(p.query, b.objects.get(p.name));
    } catch (err) {
      if (file) await unlink(file).catch(() => undefined);
      throw err;
    }
    const now = new Date().toISOString();
    const meta: ObjectMeta = {
      bucket: p.bucket,
      name: p.name,
      generation: store.nextGeneration(),
      metageneration: 1,
      size: w.size,
      md5Hash: w.md5Hash,
      crc32c: w.crc32c,
      contentType: p.contentType ?? 'application/octet-stream',
      storageClass: typeof p.metadata.storageClass === 'string' ? p.metadata.storageClass : b.storageClass,
      timeCreated: now,
      updated: now,
    };
    applyPatch(meta, p.metadata);
    meta.file = file;
    store.put(meta);
    store.stats.uploads++;
    store.stats.bytesReceived += w.size;
    return meta;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** POST /upload/storage/v1/b/BUCKET/o?uploadType=media|multipart */
export async function simpleUpload(ex: Exchange, store: Store, bucket: string, multipart: boolean): Promise<void> {
  store.bucket(bucket);
  const writer = store.newWriter();
  let meta: ObjectMeta;
  try {
    if (!multipart) {
      const name = validName(ex.query.get('name'));
      await ex.faultGate('upload', bucket, name);
      const pending: PendingObject = { bucket, name, metadata: {}, contentType: ex.req.headers['content-type'], query: ex.query };
      for await (const chunk of ex.body()) await writer.write(chunk);
      meta = await finalize(ex, store, pending, writer, ex.req.headers['x-goog-hash']);
    } else {
      const boundary = boundaryOf(ex.req.headers['content-type']);
      if (!boundary) throw badRequest('uploadType=multipart needs a multipart/related Content-Type with a boundary');
      let pending: PendingObject | undefined;
      let injected: GcsError | undefined;
      await readMultipart(
        ex.body(),
        boundary,
        async ({ metadata, mediaType }) => {
          const name = validName(ex.query.get('name') ?? metadata.name);
          injected = await ex.takeFault('upload', bucket, name);
          const contentType = typeof metadata.contentType === 'string' ? metadata.contentType : mediaType;
          pending = { bucket, name, metadata, contentType, query: ex.query };
        },
        (chunk) => (injected ? Promise.resolve() : writer.write(chunk)),
      );
      if (injected) throw injected;
      if (!pending) throw badRequest('multipart body without a media part');
      meta = await finalize(ex, store, pending, writer, ex.req.headers['x-goog-hash']);
    }
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await ex.sendJson(200, objectResource(ex.base, meta));
}
