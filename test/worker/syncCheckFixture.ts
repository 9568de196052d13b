// The world the subfolder-mode tests (syncCheck, rsync) run in: their own database, S3 bucket, GCS bucket,
// Pub/Sub topics and subscriptions on the local stack, plus small helpers to seed and read it.
import { CreateBucketCommand, PutObjectCommand, type StorageClass } from '@aws-sdk/client-s3';
import type { Message } from '@google-cloud/pubsub';
import type { RowDataPacket } from 'mysql2';
import { encodeMessage, type ErrorMessage } from '../../src/common/messages.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext, type TestCtx } from '../helpers/context.js';

export interface World {
  ctx: TestCtx;
  s3Bucket: string;
  gcsBucket: string;
  /** Per purpose: the topic the test publishes to, and the subscription the workers pull. */
  topics: Record<'syncCheck' | 'rsync', { topic: string; subscription: string }>;
  errorSubscription: string;
  config: Record<string, unknown>;
}

export const s3 = makeS3Client();

export async function makeWorld(name: string, config: Record<string, unknown> = {}, opts: { cdn?: boolean } = {}): Promise<World> {
  const s3Bucket = uniqueName(`${name}-s3`);
  const gcsBucket = uniqueName(`${name}-gcs`);
  await s3.send(new CreateBucketCommand({ Bucket: s3Bucket }));
  // The CloudFront fixture serves http://HOST/<bucket>/<key>, unsigned while no trusted key is registered.
  const cdn = opts.cdn ? { cloudfront_url_host_pre: `${process.env.OTT_CDN_ENDPOINT}/${s3Bucket}/`, transfer_concurrency: 4, max_attempts: 3, retry_budget_ms: 20_000 } : {};
  const base = { s3_bucket: s3Bucket, gcs_bucket: gcsBucket, s3_root_prefix: 'data/', gcs_root_prefix: 'mirror/', ...cdn, ...config };
  const probe = await testContext(name, base);
  await probe.clients.gcs().createBucket(gcsBucket);
  const ps = probe.clients.pubsub();
  const topics = {} as World['topics'];
  for (const purpose of ['syncCheck', 'rsync'] as const) {
    const topic = uniqueName(`${name}-${purpose}`.toLowerCase());
    await ps.createTopic(topic);
    await ps.topic(topic).createSubscription(`${topic}-sub`, { ackDeadlineSeconds: 60 });
    topics[purpose] = { topic, subscription: `${topic}-sub` };
  }
  const errTopic = uniqueName(`${name}-errors`.toLowerCase());
  await ps.createTopic(errTopic);
  await ps.topic(errTopic).createSubscription(`${errTopic}-sub`);
  await probe.db.end();
  await probe.clients.close();
  const full = { ...base, error_pubsub_topic_id: errTopic };
  const ctx = await testContext(name, { ...full, pubsub_subscription_id: topics.syncCheck.subscription }, { mysql: probe.secrets.mysql_config });
  return { ctx, s3Bucket, gcsBucket, topics, errorSubscription: `${errTopic}-sub`, config: full };
}

/** A context on the same database for another worker (its own workerId), pulling `purpose`'s subscription. */
export async function workerCtx(w: World, purpose: 'syncCheck' | 'rsync', config: Record<string, unknown> = {}): Promise<TestCtx> {
  return testContext(purpose, { ...w.config, pubsub_subscription_id: w.topics[purpose].subscription, ...config }, { mysql: w.ctx.secrets.mysql_config, migrate: false });
}

export async function closeCtx(ctx: TestCtx): Promise<void> {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
}

export async function putS3(w: World, key: string, body: string | Buffer, storageClass?: StorageClass): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: w.s3Bucket, Key: key, Body: body, ...(storageClass ? { StorageClass: storageClass } : {}) }));
}

export async function putGcs(w: World, name: string, body: string | Buffer): Promise<void> {
  await w.ctx.clients.gcs().bucket(w.gcsBucket).file(name).save(body, { resumable: false });
}

export async function gcsNames(w: World, prefix: string): Promise<string[]> {
  const [files] = await w.ctx.clients.gcs().bucket(w.gcsBucket).getFiles({ prefix });
  return files.map((f) => f.name);
}

export async function addRows(w: World, dirKeys: string[], published: 'syncCheck' | 'rsync' | null = null): Promise<void> {
  const col = published === 'syncCheck' ? ', sync_check_published' : published === 'rsync' ? ', rsync_published' : '';
  for (const k of dirKeys) await w.ctx.db.query(`INSERT INTO transfer_state (dir_key, dir_key_sha${col}) VALUES (?, UNHEX(SHA2(?, 256))${col ? ', TRUE' : ''})`, [k, k]);
}

export async function row(w: World, dirKey: string): Promise<RowDataPacket> {
  const [rows] = await w.ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state WHERE dir_key_sha = UNHEX(SHA2(?, 256))', [dirKey]);
  if (!rows[0]) throw new Error(`no row for ${dirKey}`);
  return rows[0];
}

export async function publishDirs(w: World, purpose: 'syncCheck' | 'rsync', dirKeys: string[]): Promise<void> {
  const topic = w.ctx.clients.pubsub().topic(w.topics[purpose].topic);
  for (const dir_key of dirKeys) await topic.publishMessage({ data: encodeMessage({ v: 1, kind: 'dir', purpose, dir_key }) });
}

export async function publishRaw(w: World, purpose: 'syncCheck' | 'rsync', data: string): Promise<void> {
  await w.ctx.clients.pubsub().topic(w.topics[purpose].topic).publishMessage({ data: Buffer.from(data) });
}

/** Error-topic messages: collects until `count` arrived (or `waitMs` passed), acking each. */
export async function errorMessages(w: World, count: number, waitMs = 15_000): Promise<ErrorMessage[]> {
  return (await messagesOn(w, w.errorSubscription, count, waitMs)).map((m) => JSON.parse(m.data) as ErrorMessage);
}

/** Messages on any subscription: collects until `count` arrived (or `waitMs` passed), acking each. */
export async function messagesOn(w: World, subscription: string, count: number, waitMs = 15_000): Promise<{ data: string; attributes: Record<string, string> }[]> {
  const sub = w.ctx.clients.pubsub().subscription(subscription);
  const got: { data: string; attributes: Record<string, string> }[] = [];
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, waitMs);
    sub.on('message', (m: Message) => {
      got.push({ data: m.data.toString('utf8'), attributes: m.attributes });
      m.ack();
      if (got.length >= count) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  sub.removeAllListeners('message');
  await sub.close();
  return got;
}
