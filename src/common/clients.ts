// The cloud clients, created lazily (a mode pays only for what it uses) and pointed at the local stack
// when the endpoint overrides are set.
import { createRequire } from 'node:module';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Storage } from '@google-cloud/storage';
import type { PubSub } from '@google-cloud/pubsub';
import type { Datastore } from '@google-cloud/datastore';
import type { Config } from './config/schema.js';
import type { Endpoints } from './config/env.js';
import type { Secrets } from './secrets.js';

// The SDKs load on first use: each weighs tens of MiB, and most modes need one or two of them. The copy
// path takes S3's commands and checksums from here too: a worker that never asks S3 for a part layout or a
// checksum never loads them (measured: @aws-sdk/client-s3 alone ~20 MiB of RSS and ~175 ms of CPU to load).
const require = createRequire(import.meta.url);
export const sdk = {
  s3: () => require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3'),
  checksums: () => require('@aws-sdk/checksums/crc') as typeof import('@aws-sdk/checksums/crc'),
  storage: () => require('@google-cloud/storage') as typeof import('@google-cloud/storage'),
  pubsub: () => require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub'),
  datastore: () => require('@google-cloud/datastore') as typeof import('@google-cloud/datastore'),
};

export interface Clients {
  s3(): S3Client;
  gcs(): Storage;
  pubsub(): PubSub;
  datastore(): Datastore;
  close(): Promise<void>;
}

export function createClients(config: Readonly<Config>, secrets: Readonly<Secrets>, project: string | undefined, endpoints: Endpoints): Clients {
  let s3: S3Client | undefined;
  let gcs: Storage | undefined;
  let pubsub: PubSub | undefined;
  let datastore: Datastore | undefined;
  return {
    s3: () =>
      (s3 ??= new (sdk.s3().S3Client)({
        region: config.aws_region,
        ...(secrets.aws_key_id && secrets.aws_key_secret ? { credentials: { accessKeyId: secrets.aws_key_id, secretAccessKey: secrets.aws_key_secret } } : {}),
        ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true } : {}),
        // We verify every byte ourselves (MD5/ETag); SDK trailer checksums only add aws-chunked framing.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // One retry layer per operation: every S3 call we make is inside withRetry (common/retry.ts).
        maxAttempts: 1,
      })),
    gcs: () =>
      (gcs ??= new (sdk.storage().Storage)({
        projectId: project,
        ...(endpoints.gcs ? { apiEndpoint: endpoints.gcs } : {}),
        // Likewise: listings and deletes through this client are inside withRetry; the copy path has its own HTTP client.
        retryOptions: { autoRetry: false, maxRetries: 0 },
      })),
    pubsub: () => (pubsub ??= new (sdk.pubsub().PubSub)({ projectId: project })),
    datastore: () => (datastore ??= new (sdk.datastore().Datastore)({ projectId: project })),
    async close() {
      s3?.destroy();
      await pubsub?.close();
    },
  };
}
