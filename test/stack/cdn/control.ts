// The fixture's control plane: trusted keys per distribution (what a CloudFront key group attached to a
// behaviour with "Restrict viewer access" does), counters for benchmarks, and JSON helpers.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export class TrustedKeys {
  private readonly byBucket = new Map<string, Map<string, KeyObject>>();

  /** Registers a public key; a bucket with at least one key requires a valid signature on every request. */
  add(input: unknown): void {
    const o = (input ?? {}) as Record<string, unknown>;
    for (const field of ['bucket', 'keyPairId', 'publicKeyPem'] as const) {
      if (typeof o[field] !== 'string' || o[field] === '') throw new Error(`trusted key: ${field} must be a non-empty string, got ${JSON.stringify(o[field])}`);
    }
    let key: KeyObject;
    try {
      key = createPublicKey(o.publicKeyPem as string);
    } catch (err) {
      throw new Error(`trusted key ${String(o.keyPairId)}: publicKeyPem is not a PEM public key`, { cause: err });
    }
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`trusted key ${String(o.keyPairId)}: CloudFront takes RSA keys, got ${key.asymmetricKeyType}`);
    const bucket = o.bucket as string;
    const keys = this.byBucket.get(bucket) ?? new Map<string, KeyObject>();
    keys.set(o.keyPairId as string, key);
    this.byBucket.set(bucket, keys);
  }

  /** Clears one bucket's keys (its viewers are no longer restricted), or every bucket's. */
  clear(bucket?: string): void {
    if (bucket === undefined) this.byBucket.clear();
    else this.byBucket.delete(bucket);
  }

  /** The bucket's keys, or undefined when its viewer access is not restricted. */
  forBucket(bucket: string): ReadonlyMap<string, KeyObject> | undefined {
    const keys = this.byBucket.get(bucket);
    return keys && keys.size > 0 ? keys : undefined;
  }

  list(): Record<string, string[]> {
    return Object.fromEntries([...this.byBucket].map(([b, keys]) => [b, [...keys.keys()]]));
  }
}

export interface Stats {
  requests: number;
  get: number;
  head: number;
  byStatus: Record<string, number>;
  bytesSent: number;
  signatureDenied: number;
  faultsApplied: number;
  inFlight: number;
  startedAt: string;
}

export function newStats(): Stats {
  return { requests: 0, get: 0, head: 0, byStatus: {}, bytesSent: 0, signatureDenied: 0, faultsApplied: 0, inFlight: 0, startedAt: new Date().toISOString() };
}

/** Control bodies are small JSON documents; anything past 1 MiB is a caller bug. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > 1024 * 1024) throw new Error('control request body over 1 MiB');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch (err) {
    throw new Error(`control request body is not JSON: ${text.slice(0, 80)}`, { cause: err });
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = value === undefined ? '' : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
