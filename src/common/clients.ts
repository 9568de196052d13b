// The cloud clients, created lazily (a mode pays only for what it uses) and pointed at the local stack
// when the endpoint overrides are set.
import { S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { PubSub } from '@google-cloud/pubsub';
import { Datastore } from '@google-cloud/datastore';
import type { Config } from './config/schema.js';
import type { Endpoints } from './config/env.js';
import type { Secrets } from './secrets.js';

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
      (s3 ??= new S3Client({
        region: config.aws_region,
        ...(secrets.aws_key_id && secrets.aws_key_secret ? { credentials: { accessKeyId: secrets.aws_key_id, secretAccessKey: secrets.aws_key_secret } } : {}),
        ...(endpoints.s3 ? { endpoint: endpoints.s3, forcePathStyle: true } : {}),
        // We verify every byte ourselves (MD5/ETag); SDK trailer checksums only add aws-chunked framing.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
      })),
    gcs: () => (gcs ??= new Storage({ projectId: project, ...(endpoints.gcs ? { apiEndpoint: endpoints.gcs } : {}) })),
    pubsub: () => (pubsub ??= new PubSub({ projectId: project })),
    datastore: () => (datastore ??= new Datastore({ projectId: project })),
    async close() {
      s3?.destroy();
      await pubsub?.close();
    },
  };
}
