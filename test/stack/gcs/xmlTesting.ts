// Test helpers for the GCS emulator's XML API multipart uploads: an S3 client configured as one must be
// against GCS's S3-compatible API (path style, no aws-chunked bodies), and part-sized test data.
import { createHash, randomBytes } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';

export const MiB = 1024 * 1024;
/** GCS's smallest part but the last. */
export const PART_MIN = 5 * MiB;

/**
 * @aws-sdk/client-s3 pointed at the emulator. `requestChecksumCalculation: 'WHEN_REQUIRED'` keeps SDK 3.11xx
 * from sending aws-chunked bodies with trailing CRC32 checksums; any credentials are accepted.
 */
export function gcsS3Client(endpoint: string, maxAttempts = 3): S3Client {
  return new S3Client({
    endpoint,
    region: 'auto',
    forcePathStyle: true,
    credentials: { accessKeyId: 'GOOGTESTHMACKEY', secretAccessKey: 'not-checked' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
  });
}

export const md5Base64 = (b: Uint8Array): string => createHash('md5').update(b).digest('base64');
export const md5Hex = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Random parts of these sizes (distinct bytes, so a part swapped or repeated changes the object). */
export function randomParts(...sizes: number[]): Buffer[] {
  return sizes.map((n) => randomBytes(n));
}

/** The XML error code of a failed SDK call (`BadDigest`, `NoSuchUpload`...), and its HTTP status. */
export function s3Failure(err: unknown): { code: string; status: number | undefined } {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return { code: e.Code ?? e.name ?? String(err), status: e.$metadata?.httpStatusCode };
}
