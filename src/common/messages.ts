// The versioned JSON messages on Pub/Sub. Decoding never throws: a bad message comes back with a reason,
// so a worker can dead-letter it and go on.
import { z } from 'zod';

/** Pub/Sub's limit is 10 MB per message; we keep a margin for attributes and encoding. */
export const MAX_MESSAGE_BYTES = 9 * 1024 * 1024;

const key = z.string().min(1).max(1024).refine((k) => Buffer.byteLength(k) <= 1024, 'key longer than 1024 bytes');

/** A state-table row's key: '' is the root row when s3_root_prefix is the bucket root (common/source/rootDir.ts). */
const dirKey = z.string().max(1024);

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
  dir_key: dirKey,
  objects: z.array(objectEntrySchema).min(1),
});
export type ObjectsListMessage = z.infer<typeof objectsListMessageSchema>;

export const dirMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal('dir'),
  purpose: z.enum(['syncCheck', 'rsync']),
  dir_key: dirKey,
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

/** One objects-list message, already encoded: what the publisher hands to Pub/Sub. */
export interface PackedMessage {
  /** encodeMessage() of the ObjectsListMessage, byte for byte. */
  data: Buffer;
  objects: number;
  /** Sum of the objects' sizes. */
  bytes: number;
}

/**
 * The most bytes an object can take in a message: JSON escapes one UTF-16 unit into at most 6 bytes
 * (`\u001f`, a lone surrogate), and the field names, size digits and comma fit in 100.
 */
export function maxEncodedBytes(o: ObjectEntry): number {
  return 6 * (o.key.length + o.etag.length + o.last_modified.length + (o.storage_class?.length ?? 0)) + 100;
}

/**
 * Packs a subfolder's objects into ObjectsListMessages of at most `maxKeys` objects and `maxBytes`
 * encoded, holding at most one message's objects. Synchronous, and each message is serialised once: at
 * hundreds of thousands of keys a second, an async step or a JSON.stringify per key is the publisher's
 * largest cost. Sizes are tracked by an upper bound per object (maxEncodedBytes) until the bound comes
 * near the limit; from there to the end of that message they are counted exactly, so messages are
 * packed as full as the limit allows.
 */
export class ObjectsPacker {
  private objects: ObjectEntry[] = [];
  private bound: number;
  /** The exact encoded size so far, once the bound came near the limit. */
  private exact: number | undefined;
  private readonly overhead: number;

  constructor(
    private readonly dirKey: string,
    private readonly maxKeys: number,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {
    this.overhead = encodeMessage(this.message([])).length;
    this.bound = this.overhead;
  }

  /** Adds one object; returns the message it completed, if it did not fit in the one being filled. */
  add(o: ObjectEntry): PackedMessage | undefined {
    const b = maxEncodedBytes(o);
    let exactSize = 0;
    let full: PackedMessage | undefined;
    if (this.objects.length > 0) {
      let fits = this.objects.length < this.maxKeys;
      if (fits && this.bound + b > this.maxBytes) {
        this.exact ??= encodeMessage(this.message(this.objects)).length;
        exactSize = Buffer.byteLength(JSON.stringify(o)) + 1; // and its comma
        fits = this.exact + exactSize <= this.maxBytes;
      }
      if (!fits) full = this.flush();
    }
    this.objects.push(o);
    this.bound += b;
    if (this.exact !== undefined) this.exact += exactSize;
    return full;
  }

  /** The message being filled, if it holds any object. */
  flush(): PackedMessage | undefined {
    const objects = this.objects;
    if (!objects.length) return undefined;
    this.objects = [];
    this.bound = this.overhead;
    this.exact = undefined;
    const data = encodeMessage(this.message(objects));
    // Only a single object larger than the limit gets here (S3 keys are at most 1024 bytes): never sent.
    if (data.length > this.maxBytes) throw new Error(`an objects-list message of ${data.length} bytes exceeds ${this.maxBytes} (subfolder ${JSON.stringify(this.dirKey)})`);
    let bytes = 0;
    for (const o of objects) bytes += o.size;
    return { data, objects: objects.length, bytes };
  }

  private message(objects: ObjectEntry[]): ObjectsListMessage {
    return { v: 1, kind: 'objects', dir_key: this.dirKey, objects };
  }
}
