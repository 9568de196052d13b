// Shared set-up for the cdnTransfer tests: an S3 bucket behind the CDN fixture, a GCS bucket on the
// emulator, fresh topics and subscriptions, a Ctx with the worker's config, and readers for outcomes.
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { encodeMessage, type ObjectEntry, type ObjectsListMessage } from '../../src/common/messages.js';

export const s3 = makeS3Client();
export const pubsub = new PubSub({ projectId: 'ott-local' });
export const gcsEndpoint = (): string => process.env.OTT_GCS_ENDPOINT!;
export const cdnEndpoint = (): string => process.env.OTT_CDN_ENDPOINT!;

export interface World {
  s3Bucket: string;
  gcsBucket: string;
  subscription: string;
  topic: string;
  errorSub: string;
  deadSub: string;
  config: Record<string, unknown>;
}

export async function createWorld(prefix: string, extra: Record<string, unknown> = {}): Promise<World> {
  const s3Bucket = uniqueName(`${prefix}-s3`);
  const gcsBucket = uniqueName(`${prefix}-gcs`);
  await s3.send(new CreateBucketCommand({ Bucket: s3Bucket }));
  const res = await fetch(`${gcsEndpoint()}/storage/v1/b?project=ott-local`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: gcsBucket }) });
  if (!res.ok) throw new Error(`creating GCS bucket: ${res.status} ${await res.text()}`);
  const topic = uniqueName(`${prefix}-objects`);
  const errorTopic = uniqueName(`${prefix}-errors`);
  const deadTopic = uniqueName(`${prefix}-dead`);
  const [t] = await pubsub.createTopic(topic);
  const [et] = await pubsub.createTopic(errorTopic);
  const [dt] = await pubsub.createTopic(deadTopic);
  const subscription = `${topic}-sub`;
  await t.createSubscription(subscription, { ackDeadlineSeconds: 10 });
  await et.createSubscription(`${errorTopic}-sub`);
  await dt.createSubscription(`${deadTopic}-sub`);
  const config = {
    s3_bucket: s3Bucket,
    s3_root_prefix: 'data/',
    gcs_bucket: gcsBucket,
    gcs_root_prefix: 'copy/',
    cloudfront_url_host_pre: `${cdnEndpoint()}/${s3Bucket}/`,
    pubsub_topic_id: topic,
    pubsub_subscription_id: subscription,
    error_pubsub_topic_id: errorTopic,
    dead_letter_topic_id: deadTopic,
    transfer_concurrency: 4,
    max_attempts: 4,
    retry_budget_ms: 30_000,
    grace_period_seconds: 10,
    // The fleet pauses this long after each GCS 429/503 a test injects (30 s by default): at the default,
    // a fault table whose 503s land in different pause windows spent 60-100 s pausing and timed out on a
    // loaded CI machine. test/worker/pace.test.ts measures the pause itself.
    gcs_throttle_backoff_seconds: 2,
    ...extra,
  };
  return { s3Bucket, gcsBucket, subscription, topic, errorSub: `${errorTopic}-sub`, deadSub: `${deadTopic}-sub`, config };
}

/** A Ctx with the world's config; pass `sameDbAs` to share another context's database. */
export async function worldContext(w: World, extra: Record<string, unknown> = {}, sameDbAs?: TestCtx): Promise<TestCtx> {
  return testContext('cdnTransfer', { ...w.config, ...extra }, sameDbAs ? { mysql: sameDbAs.secrets.mysql_config, migrate: false } : {});
}

/** Deterministic bytes for a key. */
export function bytesFor(key: string, size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = 0;
  for (let i = 0; i < key.length; i++) x = (x * 31 + key.charCodeAt(i)) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Puts an object and returns its listing entry (ETag as S3 reports it). */
export async function putObject(w: World, key: string, size: number, extra: Partial<PutObjectCommandInput> = {}): Promise<ObjectEntry> {
  const r = await s3.send(new PutObjectCommand({ Bucket: w.s3Bucket, Key: key, Body: bytesFor(key, size), ...extra }));
  return { key, size, etag: r.ETag!, last_modified: new Date().toISOString() };
}

export async function putMultipart(w: World, key: string, partSizes: number[], extra: { ContentType?: string; Metadata?: Record<string, string>; ServerSideEncryption?: 'aws:kms' } = {}): Promise<ObjectEntry> {
  const data = bytesFor(key, partSizes.reduce((a, b) => a + b, 0));
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: w.s3Bucket, Key: key, ...extra }));
  const parts: { ETag: string; PartNumber: number }[] = [];
  let off = 0;
  for (const [i, n] of partSizes.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: w.s3Bucket, Key: key, UploadId, PartNumber: i + 1, Body: data.subarray(off, off + n) }));
    parts.push({ ETag: r.ETag!, PartNumber: i + 1 });
    off += n;
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: w.s3Bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  return { key, size: data.length, etag: done.ETag!, last_modified: new Date().toISOString() };
}

export async function publish(w: World, dirKey: string, objects: ObjectEntry[]): Promise<void> {
  const m: ObjectsListMessage = { v: 1, kind: 'objects', dir_key: dirKey, objects };
  await pubsub.topic(w.topic).publishMessage({ data: encodeMessage(m) });
}

export async function publishRaw(w: World, data: Buffer): Promise<void> {
  await pubsub.topic(w.topic).publishMessage({ data });
}

export interface GcsRead {
  meta: { size: string; md5Hash?: string; crc32c?: string; contentType?: string; cacheControl?: string; contentDisposition?: string; contentLanguage?: string; metadata?: Record<string, string>; generation: string };
  data: Buffer;
}

export async function readGcs(w: World, name: string): Promise<GcsRead | undefined> {
  const path = `${gcsEndpoint()}/storage/v1/b/${w.gcsBucket}/o/${encodeURIComponent(name)}`;
  const meta = await fetch(path);
  if (meta.status === 404) return undefined;
  if (!meta.ok) throw new Error(`GCS get ${name}: ${meta.status}`);
  const media = await fetch(`${gcsEndpoint()}/download/storage/v1/b/${w.gcsBucket}/o/${encodeURIComponent(name)}?alt=media`);
  return { meta: (await meta.json()) as GcsRead['meta'], data: Buffer.from(await media.arrayBuffer()) };
}

export async function listGcs(w: World): Promise<string[]> {
  const r = (await (await fetch(`${gcsEndpoint()}/storage/v1/b/${w.gcsBucket}/o`)).json()) as { items?: { name: string }[] };
  return (r.items ?? []).map((i) => i.name).sort();
}

/** Collects what arrives on a subscription until `count` messages or `timeoutMs`; acks them. */
export async function drain(subscription: string, count: number, timeoutMs = 10_000): Promise<Message[]> {
  const sub = pubsub.subscription(subscription);
  const got: Message[] = [];
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    sub.on('message', (m: Message) => {
      got.push(m);
      m.ack();
      if (got.length >= count) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  await sub.close();
  return got;
}

export async function addDirRow(ctx: TestCtx, dirKey: string): Promise<void> {
  await ctx.db.query('INSERT INTO transfer_state (dir_key, dir_key_sha) VALUES (?, UNHEX(SHA2(?, 256)))', [dirKey, dirKey]);
}

export async function dirCounters(ctx: TestCtx, dirKey: string): Promise<Record<string, number>> {
  const [rows] = await ctx.db.query('SELECT copied_objects, copied_bytes, skipped_objects, failed_objects, size_only_objects FROM transfer_state WHERE dir_key = ?', [dirKey]);
  return (rows as Record<string, number>[])[0];
}
