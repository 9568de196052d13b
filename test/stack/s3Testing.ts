// Helpers for the S3 emulator's tests and for tests that set up archived objects: an SDK client that
// computes and validates checksums as the SDK does by default, raw HTTP (s3rver serves anonymous
// requests, so a test can see status, headers and body byte for byte), and the fixture-only control that
// moves an Intelligent-Tiering object into an archive tier.
import { request } from 'node:http';
import { S3Client } from '@aws-sdk/client-s3';

function endpoint(): string {
  const e = process.env.OTT_S3_ENDPOINT;
  if (!e) throw new Error('OTT_S3_ENDPOINT is not set: is the local stack running with the s3 service?');
  return e;
}

/** The SDK with its default integrity protections: it sends a checksum on uploads and checks the one S3 returns on GET. */
export function checksummingS3Client(): S3Client {
  return new S3Client({
    endpoint: endpoint(),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_SUPPORTED',
    responseChecksumValidation: 'WHEN_SUPPORTED',
  });
}

export interface RawS3Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One unsigned request to the S3 emulator; `path` is sent as is (encode it yourself). */
export function rawS3(method: string, path: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<RawS3Response> {
  const { hostname, port } = new URL(endpoint());
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** `/bucket/key` with each key segment percent-encoded, as a client puts a key on the wire. */
export function objectPath(bucket: string, key: string): string {
  return `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

export type AccessTier = 'ARCHIVE_ACCESS' | 'DEEP_ARCHIVE_ACCESS' | 'FREQUENT_ACCESS';

/**
 * Fixture-only (real S3 has no such call; it moves objects after months without access): puts an
 * INTELLIGENT_TIERING object in an archive tier at once, or back in the frequent tier.
 */
export async function setAccessTier(bucket: string, key: string, tier: AccessTier, s3Endpoint = endpoint()): Promise<void> {
  const q = new URLSearchParams({ bucket, key, tier });
  const res = await fetch(`${s3Endpoint}/__fixture/access-tier?${q.toString()}`, { method: 'POST' });
  if (res.status !== 204) throw new Error(`access tier ${tier} for ${bucket}/${key}: ${res.status} ${await res.text()}`);
}
