// An S3 client for the local S3 emulator, configured the way our production client is when
// OTT_S3_ENDPOINT is set. Part of the stack (test/stack/index.ts exports it to the demo and benchmarks).
import { S3Client } from '@aws-sdk/client-s3';

export function makeS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  if (!env.OTT_S3_ENDPOINT) throw new Error('OTT_S3_ENDPOINT is not set: is the local stack running?');
  return new S3Client({
    endpoint: env.OTT_S3_ENDPOINT,
    region: env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'S3RVER', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
