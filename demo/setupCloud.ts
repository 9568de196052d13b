// Everything an operator creates before the first VM starts, done against the local cloud with the same
// clients production uses: the MySQL database and user, Pub/Sub topics and subscriptions (dead-letter
// policies included), the CloudFront signing key pair (public half registered with the CDN fixture,
// private half in Secret Manager), the credentials secret, the destination bucket, and one config entity
// per pipeline in Datastore, written through `ott config put`.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { makeSecretClient } from '../test/stack/index.js';
import { spawnOtt, type CliOptions } from './cli.js';

export const PROJECT = 'ott-local';
export const CONFIG_KIND = 'OttDemo';

/** The three pipelines of the reference design, each with its own config entity and queue. */
export type Pipeline = 'objects' | 'syncCheck' | 'rsync';
export const PIPELINES: Pipeline[] = ['objects', 'syncCheck', 'rsync'];

export interface DemoNames {
  s3Bucket: string;
  gcsBucket: string;
  root: string;
  database: string;
  mysqlUser: string;
  table: string;
  topic: Record<Pipeline, string>;
  subscription: Record<Pipeline, string>;
  errorTopic: string;
  /** Our own subscription on the error topic, created before any worker runs so nothing is lost. */
  errorSubscription: string;
  deadLetterTopic: string;
  deadLetterSubscription: string;
  credentialsSecret: string;
  signingKeySecret: string;
  keyPairId: string;
  /** Datastore config key (KIND/NAME) per pipeline. */
  configKey: Record<Pipeline, string>;
}

/** Resource names from one prefix (lowercase letters, digits and dashes), so test files never collide. */
export function demoNames(prefix: string): DemoNames {
  const id = (p: Pipeline): string => `${prefix}-${p.toLowerCase()}`;
  return {
    s3Bucket: `${prefix}-source`,
    gcsBucket: `${prefix}-destination`,
    root: 'data/',
    database: prefix.replace(/-/g, '_'),
    mysqlUser: `u_${randomBytes(4).toString('hex')}`,
    table: 'transfer_state',
    topic: { objects: id('objects'), syncCheck: id('syncCheck'), rsync: id('rsync') },
    subscription: { objects: `${id('objects')}-cdn`, syncCheck: `${id('syncCheck')}-worker`, rsync: `${id('rsync')}-worker` },
    errorTopic: `${prefix}-errors`,
    errorSubscription: `${prefix}-errors-audit`,
    deadLetterTopic: `${prefix}-dead`,
    deadLetterSubscription: `${prefix}-dead-audit`,
    credentialsSecret: `${prefix}-credentials`,
    signingKeySecret: `${prefix}-cloudfront-key`,
    keyPairId: `K${randomBytes(6).toString('hex').toUpperCase()}`,
    configKey: { objects: `${CONFIG_KIND}/${prefix}-objects`, syncCheck: `${CONFIG_KIND}/${prefix}-syncCheck`, rsync: `${CONFIG_KIND}/${prefix}-rsync` },
  };
}

export interface MysqlConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl_disabled: boolean;
}

/** A database and a user of its own with a random password (the secret the log check hunts for). */
export async function createDatabase(env: Record<string, string>, n: DemoNames): Promise<MysqlConfig> {
  if (!env.OTT_MYSQL_PORT) throw new Error('OTT_MYSQL_PORT is not set: the local cloud has no MySQL');
  const password = randomBytes(16).toString('base64url');
  const admin = await createConnection({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${n.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await admin.query(`CREATE USER '${n.mysqlUser}'@'%' IDENTIFIED BY '${password}'`);
    await admin.query(`GRANT ALL PRIVILEGES ON \`${n.database}\`.* TO '${n.mysqlUser}'@'%'`);
  } finally {
    await admin.end();
  }
  return { host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: n.mysqlUser, password, database: n.database, ssl_disabled: true };
}

/**
 * Topics and subscriptions. Work subscriptions dead-letter a message after maxDeliveryAttempts, so a
 * poison message cannot loop forever; ackDeadlineSeconds is how soon a SIGKILLed worker's messages
 * are redelivered.
 */
export async function createQueues(n: DemoNames, ackDeadlineSeconds: number, maxDeliveryAttempts = 10): Promise<void> {
  const pubsub = new PubSub({ projectId: PROJECT });
  try {
    const [dead] = await pubsub.createTopic(n.deadLetterTopic);
    await dead.createSubscription(n.deadLetterSubscription);
    const [errors] = await pubsub.createTopic(n.errorTopic);
    await errors.createSubscription(n.errorSubscription);
    for (const p of PIPELINES) {
      const [topic] = await pubsub.createTopic(n.topic[p]);
      await topic.createSubscription(n.subscription[p], {
        ackDeadlineSeconds,
        deadLetterPolicy: { deadLetterTopic: `projects/${PROJECT}/topics/${n.deadLetterTopic}`, maxDeliveryAttempts },
      });
    }
  } finally {
    await pubsub.close();
  }
}

export interface SigningKey {
  keyPairId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A fresh RSA key pair, as CloudFront key groups take (the private half is PKCS#1 PEM, as AWS hands it out). */
export function newSigningKey(keyPairId: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { keyPairId, privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** Registers the public key with the CDN fixture: from now on that bucket only answers valid signed URLs. */
export async function registerSigningKey(cdnEndpoint: string, bucket: string, key: SigningKey): Promise<void> {
  const res = await fetch(`${cdnEndpoint.replace(/\/$/, '')}/__trusted-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ bucket, keyPairId: key.keyPairId, publicKeyPem: key.publicKeyPem }),
  });
  if (!res.ok) throw new Error(`registering key pair ${key.keyPairId} with the CDN fixture: HTTP ${res.status} ${await res.text()}`);
}

/** The credentials secret (the reference's payload) and the signing key, each a secret of its own. */
export async function createSecrets(n: DemoNames, mysql: MysqlConfig, key: SigningKey): Promise<void> {
  const client = makeSecretClient();
  try {
    const put = async (id: string, data: string): Promise<void> => {
      const [secret] = await client.createSecret({ parent: `projects/${PROJECT}`, secretId: id, secret: { replication: { automatic: {} } } });
      await client.addSecretVersion({ parent: secret.name!, payload: { data: Buffer.from(data, 'utf8') } });
    };
    await put(n.credentialsSecret, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: mysql }));
    await put(n.signingKeySecret, key.privateKeyPem);
  } finally {
    await client.close();
  }
}

export async function createGcsBucket(env: Record<string, string>, name: string): Promise<void> {
  if (!env.OTT_GCS_ENDPOINT) throw new Error('OTT_GCS_ENDPOINT is not set: the local cloud has no GCS emulator (test/stack/gcs)');
  const storage = new Storage({ projectId: PROJECT, apiEndpoint: env.OTT_GCS_ENDPOINT });
  await storage.createBucket(name);
}

/** The config entity of each pipeline: shared fields plus its own topic and subscription. */
export function configEntities(n: DemoNames, env: Record<string, string>, tuning: Record<string, unknown> = {}): Record<Pipeline, Record<string, unknown>> {
  const common: Record<string, unknown> = {
    gcp_project: PROJECT,
    mysql_table: n.table,
    credentials_secret_id: n.credentialsSecret,
    aws_region: 'us-east-1',
    s3_bucket: n.s3Bucket,
    s3_root_prefix: n.root,
    gcs_bucket: n.gcsBucket,
    gcs_root_prefix: n.root,
    // The fixture's URL layout is http://HOST/<bucket>/<key>: one "distribution" per bucket.
    ...(env.OTT_CDN_ENDPOINT ? { cloudfront_url_host_pre: `${env.OTT_CDN_ENDPOINT.replace(/\/$/, '')}/${n.s3Bucket}/` } : {}),
    url_signer_key_pair_id: n.keyPairId,
    url_signer_private_key_secret_id: n.signingKeySecret,
    error_pubsub_topic_id: n.errorTopic,
    dead_letter_topic_id: n.deadLetterTopic,
    ...tuning,
  };
  const entity = (p: Pipeline): Record<string, unknown> => ({ ...common, pubsub_topic_id: n.topic[p], pubsub_subscription_id: n.subscription[p] });
  return { objects: entity('objects'), syncCheck: entity('syncCheck'), rsync: entity('rsync') };
}

/** Writes each entity with `ott config put` (validated by the tool itself), as an operator would. */
export async function putConfigs(n: DemoNames, entities: Record<Pipeline, Record<string, unknown>>, cli: CliOptions): Promise<void> {
  const dir = join(cli.logDir, 'config');
  mkdirSync(dir, { recursive: true });
  // In parallel: each is a CLI start (a few seconds of module loading), and they are independent.
  await Promise.all(
    PIPELINES.map(async (p) => {
      const file = join(dir, `${p}.json`);
      writeFileSync(file, JSON.stringify(entities[p], null, 2));
      const proc = spawnOtt(`config-put-${p}`, ['config', 'put', '--gcp-project', PROJECT, '--config-key', n.configKey[p], '--file', file], cli);
      const { code } = await proc.exited;
      if (code !== 0) throw new Error(`ott config put ${n.configKey[p]} failed (exit ${code}):\n${proc.lines.join('\n')}`);
    }),
  );
}
