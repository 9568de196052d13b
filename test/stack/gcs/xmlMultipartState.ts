// XML API multipart uploads in progress, and the rules every multipart request shares. An upload lives
// here from initiate until complete or abort; its parts are temp files (nothing at all in discard mode)
// that no listing shows. Completing or aborting removes every part, used or not, as GCS does.
import { unlink } from 'node:fs/promises';
import type { Exchange } from './exchange.js';
import { noSuchUpload, XmlError } from './xml.js';

/** GCS's limits for XML API multipart uploads (same as S3's). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

export interface UploadedPart {
  partNumber: number;
  size: number;
  /** Hex MD5 of the part's bytes; its ETag is this, quoted. */
  md5Hex: string;
  /** Base64 of the big-endian CRC32C, as GCS writes it. */
  crc32c: string;
  lastModified: string;
  /** The bytes; absent in discard mode. */
  file?: string;
}

export interface MultipartUpload {
  id: string;
  bucket: string;
  name: string;
  initiated: string;
  /** Initiation order: uploads of one name list oldest first. */
  seq: number;
  storageClass: string;
  /** What the completed object gets: writable fields and custom metadata, in the JSON API's terms. */
  resource: Record<string, unknown>;
  parts: Map<number, UploadedPart>;
}

export const uploads = new Map<string, MultipartUpload>();
let lastSeq = 0;
export const nextSeq = (): number => ++lastSeq;

export const partEtag = (p: UploadedPart): string => `"${p.md5Hex}"`;

/** The upload `id` if it exists and belongs to this bucket and object name. */
export function findUpload(id: string, bucket: string, name: string): MultipartUpload {
  const up = uploads.get(id);
  if (!up || up.bucket !== bucket || up.name !== name) throw noSuchUpload(id);
  return up;
}

export function releasePart(p: UploadedPart | undefined): void {
  if (p?.file) void unlink(p.file).catch(() => undefined);
}

export function releaseParts(up: MultipartUpload): void {
  for (const p of up.parts.values()) releasePart(p);
  up.parts.clear();
}

const PRECONDITION_HEADERS = ['x-goog-if-generation-match', 'x-goog-if-metageneration-match', 'if-match', 'if-none-match'];
const PRECONDITION_PARAMS = ['ifGenerationMatch', 'ifGenerationNotMatch', 'ifMetagenerationMatch', 'ifMetagenerationNotMatch'];

/**
 * GCS: "Preconditions cannot be used in XML API multipart uploads. Attempting to do so results in a
 * 400 NotImplemented error." A client that wants create-only semantics must get them another way.
 */
export function refusePreconditions(ex: Exchange): void {
  const header = PRECONDITION_HEADERS.find((h) => ex.req.headers[h] !== undefined);
  const param = PRECONDITION_PARAMS.find((q) => ex.query.has(q));
  const named = header ?? param;
  if (named) throw new XmlError(400, 'NotImplemented', `Preconditions are not supported for XML API multipart uploads (got ${named}); the request was not applied`);
}

/**
 * Bodies framed as `aws-chunked` (what AWS SDKs send when they add flexible checksums) are refused rather
 * than stored with their framing: configure the S3 client with `requestChecksumCalculation: 'WHEN_REQUIRED'`.
 */
export function refuseAwsChunked(ex: Exchange): void {
  const enc = String(ex.req.headers['content-encoding'] ?? '');
  const sha = String(ex.req.headers['x-amz-content-sha256'] ?? '');
  if (/aws-chunked/i.test(enc) || sha.startsWith('STREAMING-')) {
    throw new XmlError(400, 'NotImplemented', "aws-chunked request bodies are not supported by this emulator: set the S3 client's requestChecksumCalculation to 'WHEN_REQUIRED'");
  }
}

/** Reads and drops the request body, then throws err: the client sees the status, not a broken pipe. */
export async function refuse(ex: Exchange, err: Error): Promise<never> {
  await ex.drain().catch(() => undefined);
  throw err;
}
