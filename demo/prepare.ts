// The one-time set-up before any VM starts, in the order an operator does it; shared by the demo and the
// full-pipeline test so both exercise exactly the same configuration path.
import { makeS3Client } from '../test/stack/index.js';
import type { CliOptions } from './cli.js';
import type { DemoObject } from './dataset.js';
import { seedBucket } from './seed.js';
import {
  configEntities,
  createDatabase,
  createGcsBucket,
  createQueues,
  createSecrets,
  newSigningKey,
  putConfigs,
  registerSigningKey,
  type DemoNames,
  type MysqlConfig,
  type SigningKey,
} from './setupCloud.js';

export interface Prepared {
  mysql: MysqlConfig;
  key: SigningKey;
  /** Resolves when the source bucket is fully seeded (it fills while the rest is set up and migrate runs). */
  sourceReady: Promise<void>;
}

export interface PrepareOptions {
  names: DemoNames;
  /** The local cloud's env (endpoints); process.env must hold it too (the Google clients read it there). */
  env: Record<string, string>;
  dataset: DemoObject[];
  cli: CliOptions;
  /** Config fields beyond the names (concurrency, leases, retries). */
  tuning: Record<string, unknown>;
  ackDeadlineSeconds: number;
  /**
   * Deliveries before a work message is dead-lettered (default 10). The emulator spends one each time a
   * message's ack deadline runs out, even with no subscriber to take it: attempts x ack deadline is how long
   * a killed worker's messages wait for a live worker before they are dead-lettered and never copied.
   */
  maxDeliveryAttempts?: number;
  say: (text: string) => void;
}

export async function prepareCloud(o: PrepareOptions): Promise<Prepared> {
  const { names, env, dataset, say } = o;
  const MiB = 1024 * 1024;
  const totalBytes = dataset.reduce((a, d) => a + d.sizeBytes, 0);
  say(`seeding s3://${names.s3Bucket}/${names.root}: ${dataset.length} objects, ${(totalBytes / MiB).toFixed(1)} MiB`);
  const s3 = makeS3Client({ ...process.env, ...env });
  let lastShown = 0;
  const sourceReady = seedBucket(s3, names.s3Bucket, dataset, 6, (done, bytes) => {
    if (Date.now() - lastShown > 3000 || done === dataset.length) {
      say(`  seeded ${done}/${dataset.length} objects, ${(bytes / MiB).toFixed(1)} MiB`);
      lastShown = Date.now();
    }
  }).finally(() => s3.destroy());
  sourceReady.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
  const mysql = await createDatabase(env, names);
  say(`MySQL database ${mysql.database} with its own user`);
  const key = newSigningKey(names.keyPairId);
  await createSecrets(names, mysql, key);
  say(`secrets ${names.credentialsSecret} (credentials) and ${names.signingKeySecret} (signing key) created in the Secret Manager fake`);
  await createQueues(names, o.ackDeadlineSeconds, o.maxDeliveryAttempts);
  say(`Pub/Sub: topics ${Object.values(names.topic).join(', ')}, ${names.errorTopic}, ${names.deadLetterTopic}, with subscriptions (dead-letter policies on the work queues)`);
  if (env.OTT_GCS_ENDPOINT) {
    await createGcsBucket(env, names.gcsBucket);
    say(`GCS bucket gs://${names.gcsBucket} created`);
  }
  if (env.OTT_CDN_ENDPOINT) {
    await registerSigningKey(env.OTT_CDN_ENDPOINT, names.s3Bucket, key);
    say(`CloudFront key pair ${key.keyPairId} registered: the CDN now serves ${names.s3Bucket} only through signed URLs`);
  }
  await putConfigs(names, configEntities(names, env, o.tuning), o.cli);
  say(`config entities ${Object.values(names.configKey).join(', ')} written to Datastore with \`ott config put\``);
  return { mysql, key, sourceReady };
}
