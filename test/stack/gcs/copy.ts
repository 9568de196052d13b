// Server-side copies: rewrite (always done in one call), copyTo, and compose. Copies share the source's
// file by hard link; compose concatenates into a new file (in discard mode there are no bytes) and, like
// GCS, gives the composite no md5Hash and a CRC32C combined from its pieces'. assemble() also completes
// XML multipart uploads.
import { open, unlink } from 'node:fs/promises';
import { badRequest, GcsError, noSuchObject } from './errors.js';
import type { Exchange } from './exchange.js';
import { liveObject } from './objects.js';
import { applyPatch, checkPreconditions, objectResource } from './resource.js';
import type { ObjectMeta, Store } from './store.js';
import { crc32cBase64, crc32cCombine } from '../crc32c.js';
import { validName } from './names.js';

const MAX_COMPONENTS = 1024;
const MAX_COMPOSE_SOURCES = 32;

/** POST /b/SB/o/SO/(rewriteTo|copyTo)/b/DB/o/DO */
export async function copyObject(ex: Exchange, store: Store, kind: 'rewriteTo' | 'copyTo', src: [string, string], dst: [string, string]): Promise<void> {
  await ex.faultGate('rewrite', dst[0], dst[1]);
  const body = await ex.json();
  const q = new URLSearchParams(ex.query);
  if (q.has('sourceGeneration')) q.set('generation', q.get('sourceGeneration')!);
  else q.delete('generation');
  const s = liveObject(store, q, src[0], src[1]);
  checkPreconditions(ex.query, s, { prefix: 'ifSource' });
  const destBucket = store.bucket(dst[0]);
  validName(dst[1]);
  checkPreconditions(ex.query, destBucket.objects.get(dst[1]));
  const now = new Date().toISOString();
  const meta: ObjectMeta = {
    ...s,
    bucket: dst[0],
    name: dst[1],
    metadata: s.metadata ? { ...s.metadata } : undefined,
    generation: store.nextGeneration(),
    metageneration: 1,
    storageClass: destBucket.storageClass,
    timeCreated: now,
    updated: now,
    file: await store.linkCopy(s.file),
  };
  // A destination resource in the body overrides what it names; the rest comes from the source.
  if (Object.keys(body).length > 0) applyPatch(meta, body);
  store.put(meta);
  const resource = objectResource(ex.base, meta);
  if (kind === 'copyTo') return ex.sendJson(200, resource);
  await ex.sendJson(200, { kind: 'storage#rewriteResponse', totalBytesRewritten: String(meta.size), objectSize: String(meta.size), done: true, resource });
}

interface SourceObject {
  name?: unknown;
  generation?: unknown;
  objectPreconditions?: { ifGenerationMatch?: unknown };
}

/** POST /b/B/o/DEST/compose */
export async function composeObject(ex: Exchange, store: Store, bucket: string, name: string): Promise<void> {
  await ex.faultGate('compose', bucket, name);
  const body = await ex.json();
  validName(name);
  const b = store.bucket(bucket);
  const list = body.sourceObjects as SourceObject[] | undefined;
  if (!Array.isArray(list) || list.length === 0) throw badRequest('Required field: sourceObjects');
  if (list.length > MAX_COMPOSE_SOURCES) throw badRequest(`The number of source components provided (${list.length}) exceeds the maximum (${MAX_COMPOSE_SOURCES})`);
  const sources = list.map((so) => {
    const srcName = String(so.name);
    const m = b.objects.get(srcName);
    if (!m || (so.generation !== undefined && String(so.generation) !== m.generation)) throw noSuchObject(bucket, srcName);
    const want = so.objectPreconditions?.ifGenerationMatch;
    if (want !== undefined && String(want) !== m.generation) throw new GcsError(412, 'conditionNotMet', `Precondition failed for source ${srcName}`);
    return m;
  });
  const componentCount = sources.reduce((n, m) => n + (m.componentCount ?? 1), 0);
  if (componentCount > MAX_COMPONENTS) throw badRequest(`The composite would have ${componentCount} components, more than ${MAX_COMPONENTS}`);
  checkPreconditions(ex.query, b.objects.get(name));
  const dest = (body.destination ?? {}) as Record<string, unknown>;
  const meta = await assemble(store, bucket, name, sources, { contentType: sources[0].contentType, storageClass: b.storageClass, componentCount }, dest);
  await ex.sendJson(200, objectResource(ex.base, meta));
}

export interface Piece {
  size: number;
  crc32c: string;
  /** Absent in discard mode. */
  file?: string;
}

/**
 * Installs a new live object made of pieces, one after another (compose, a completed XML multipart
 * upload): like GCS, no md5Hash, and size and CRC32C follow from the pieces' own (each piece's bytes were
 * hashed once, as they arrived); the bytes are concatenated unless discarding, never hashed again.
 */
export async function assemble(
  store: Store,
  bucket: string,
  name: string,
  pieces: readonly Piece[],
  fields: Pick<ObjectMeta, 'contentType' | 'storageClass' | 'componentCount'>,
  patch: Record<string, unknown>,
): Promise<ObjectMeta> {
  const w = combined(pieces);
  const now = new Date().toISOString();
  const meta: ObjectMeta = { bucket, name, generation: store.nextGeneration(), metageneration: 1, size: w.size, crc32c: w.crc32c, ...fields, timeCreated: now, updated: now };
  applyPatch(meta, patch);
  const tmp = store.discarding ? undefined : await concatenate(store.newTempPath()!, pieces);
  meta.file = await store.adopt(tmp);
  store.put(meta);
  return meta;
}

/** Size and CRC32C of the pieces one after another, from theirs alone (GF(2) arithmetic, no bytes read). */
function combined(pieces: readonly Piece[]): { size: number; crc32c: string } {
  let crc = 0;
  let size = 0;
  for (const m of pieces) {
    crc = crc32cCombine(crc, Buffer.from(m.crc32c, 'base64').readUInt32BE(0), m.size);
    size += m.size;
  }
  return { size, crc32c: crc32cBase64(crc) };
}

/** Bytes copied per read: a few syscalls per MiB, one buffer per assemble. */
const COPY_BUFFER_BYTES = 1024 * 1024;

/**
 * The pieces' files one after another in a new file at `dest`; returns dest. A piece whose file does not
 * hold exactly its recorded size fails the assemble (its CRC32C would not describe the bytes).
 */
async function concatenate(dest: string, pieces: readonly Piece[]): Promise<string> {
  const out = await open(dest, 'wx');
  const buf = Buffer.allocUnsafe(COPY_BUFFER_BYTES);
  try {
    for (const p of pieces) {
      const src = await open(p.file!, 'r');
      let copied = 0;
      try {
        for (;;) {
          const { bytesRead } = await src.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          // FileHandle.write may write less than asked; write the rest.
          for (let off = 0; off < bytesRead; ) off += (await out.write(buf, off, bytesRead - off)).bytesWritten;
          copied += bytesRead;
        }
      } finally {
        await src.close();
      }
      if (copied !== p.size) throw new Error(`assembling: a piece's file holds ${copied} bytes, its metadata says ${p.size}`);
    }
    await out.close();
    return dest;
  } catch (err) {
    await out.close().catch(() => undefined);
    await unlink(dest).catch(() => undefined);
    throw err;
  }
}
