// The versioned JSON messages on Pub/Sub. Decoding never throws: a bad message comes back with a reason,
// so a worker can dead-letter it and go on.
import { z } from 'zod';

/** Pub/Sub's limit is 10 MB per message; we keep a margin for attributes and encoding. */
export const MAX_MESSAGE_BYTES = 9 * 1024 * 1024;

const key = z.string().min(1).max(1024).refine((k) => Buffer.byteLength(k) <= 1024, 'key longer than 1024 bytes');

export const objectEntrySchema = z.object({
  key,
  size: z.number().int().nonnegative(),
  etag: z.string().min(1),
  last_modified: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date'),
  storage_class: z.string().optional(),
});
export type ObjectEntry = z.infer<typeof objectEntrySchema>;

export const objectsListMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal('objects'),
  dir_key: z.string().min(1),
  objects: z.array(objectEntrySchema).min(1),
});
export type ObjectsListMessage = z.infer<typeof objectsListMessageSchema>;

export const dirMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal('dir'),
  purpose: z.enum(['syncCheck', 'rsync']),
  dir_key: z.string().min(1),
});
export type DirMessage = z.infer<typeof dirMessageSchema>;

export const errorMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal('error'),
  mode: z.string(),
  dir_key: z.string(),
  key: z.string().optional(),
  reason: z.string(),
  attempts: z.number().int().nonnegative(),
  worker: z.string(),
  at: z.string(),
});
export type ErrorMessage = z.infer<typeof errorMessageSchema>;

export type Decoded<T> = { ok: true; message: T } | { ok: false; reason: string };

export function decodeMessage<T>(schema: z.ZodType<T>, data: Buffer): Decoded<T> {
  if (data.length > MAX_MESSAGE_BYTES + 1024 * 1024) return { ok: false, reason: `message of ${data.length} bytes exceeds the 10 MB limit` };
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    return { ok: false, reason: `schema: ${i.path.join('.') || '(root)'}: ${i.message}` };
  }
  return { ok: true, message: r.data };
}

export function encodeMessage(m: ObjectsListMessage | DirMessage | ErrorMessage): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

/**
 * Packs a stream of objects into ObjectsListMessages of at most `maxKeys` objects and MAX_MESSAGE_BYTES
 * encoded, never holding more than one message's objects in memory.
 */
export async function* packObjects(dirKey: string, objects: AsyncIterable<ObjectEntry>, maxKeys: number, maxBytes = MAX_MESSAGE_BYTES): AsyncGenerator<ObjectsListMessage> {
  const overhead = Buffer.byteLength(JSON.stringify({ v: 1, kind: 'objects', dir_key: dirKey, objects: [] }));
  let batch: ObjectEntry[] = [];
  let bytes = overhead;
  for await (const o of objects) {
    const size = Buffer.byteLength(JSON.stringify(o)) + 1;
    if (batch.length > 0 && (batch.length >= maxKeys || bytes + size > maxBytes)) {
      yield { v: 1, kind: 'objects', dir_key: dirKey, objects: batch };
      batch = [];
      bytes = overhead;
    }
    batch.push(o);
    bytes += size;
  }
  if (batch.length) yield { v: 1, kind: 'objects', dir_key: dirKey, objects: batch };
}
