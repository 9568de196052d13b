// Benchmark: publishObjectsList publishing 200,000 keys from 2,000 subfolders (listed from an in-memory
// fixture, so Pub/Sub and MySQL are what is measured), against a bare @google-cloud/pubsub publish loop of
// the same messages with the same batching to the same emulator, in the same run. Listing from the S3
// emulator is measured separately, against a bare ListObjectsV2 paging loop.
// Usage: npx tsx bench/publish.bench.ts [--dirs N] [--keys-per-dir N] [--list-keys N]
import { createHash } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PubSub } from '@google-cloud/pubsub';
import { startStack } from '../test/stack/index.js';
import { createContext } from '../src/common/context.js';
import { validateConfig } from '../src/common/config/validate.js';
import { migrate } from '../src/common/migrate.js';
import { encodeMessage, packObjects, type ObjectEntry } from '../src/common/messages.js';
import { run } from '../src/publisher/publishObjectsList.js';
import { s3Lister, type ObjectLister } from '../src/publisher/listObjects.js';
import { perSecond, ratio, writeResults } from './results.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DIRS = arg('--dirs', 2000);
const PER_DIR = arg('--keys-per-dir', 100);
const LIST_KEYS = arg('--list-keys', 10_000);
const KEYS = DIRS * PER_DIR;
const BATCH = 10; // max_messages_per_batch: the reference's default
const PER_MESSAGE = 50; // num_single_message: ours

const stack = await startStack({ only: ['mariadb', 'pubsub', 's3'] });
Object.assign(process.env, stack.env); // the clients find the emulators as they do on a VM
const env = stack.env;
const dirKey = (i: number): string => `root/sub-${String(i).padStart(5, '0')}/`;

const fixture: ObjectLister = async function* (dir) {
  for (let i = 0; i < PER_DIR; i++) {
    const key = `${dir}2024/01/31/object-${String(i).padStart(6, '0')}.parquet`;
    yield { key, size: 1000 + i, etag: createHash('md5').update(key).digest('hex'), last_modified: '2024-01-31T10:00:00.000Z', storage_class: 'STANDARD' } satisfies ObjectEntry;
  }
};

async function database(name: string) {
  const c = await createConnection({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD });
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return { host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD, database: name, ssl_disabled: true };
}

const ps = new PubSub({ projectId: env.PUBSUB_PROJECT_ID });

async function bare(topicId: string): Promise<number> {
  const topic = ps.topic(topicId, { batching: { maxMessages: BATCH, maxMilliseconds: 10 } });
  const t = Date.now();
  const pending: Promise<string>[] = [];
  for (let d = 0; d < DIRS; d++) {
    for await (const m of packObjects(dirKey(d), fixture(dirKey(d), new AbortController().signal), PER_MESSAGE)) pending.push(topic.publishMessage({ data: encodeMessage(m) }));
  }
  await Promise.all(pending);
  return Date.now() - t;
}

async function ours(round: number, topicId: string): Promise<number> {
  const mysql = await database(`bench_publish_${round}`);
  const config = validateConfig({ mysql_table: 'state', credentials_file: '/dev/null', pubsub_topic_id: topicId, max_messages_per_batch: BATCH, num_single_message: PER_MESSAGE }, 'bench');
  const ctx = await createContext({ mode: 'publishObjectsList', config, secrets: { mysql_config: mysql }, gcpProject: env.PUBSUB_PROJECT_ID, writeLog: () => undefined });
  await migrate(ctx.db, 'state');
  for (let i = 0; i < DIRS; i += 1000) {
    const keys = Array.from({ length: Math.min(1000, DIRS - i) }, (_, j) => dirKey(i + j));
    await ctx.db.query(`INSERT INTO state (dir_key, dir_key_sha) VALUES ${keys.map(() => '(?, UNHEX(SHA2(?, 256)))').join(', ')}`, keys.flatMap((k) => [k, k]));
  }
  const t = Date.now();
  const s = await run(ctx, { lister: fixture });
  const ms = Date.now() - t;
  if (s.objects !== KEYS || s.subfolders_published !== DIRS) throw new Error(`ours published ${s.objects} keys in ${s.subfolders_published} subfolders`);
  await ctx.db.end();
  await ctx.clients.close();
  return ms;
}

async function listing(): Promise<{ oursMs: number; bareMs: number; n: number }> {
  const s3 = new S3Client({ endpoint: env.OTT_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const bucket = 'bench-list';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const dirs = Array.from({ length: Math.max(1, LIST_KEYS / 1000) }, (_, i) => dirKey(i));
  const keys = dirs.flatMap((d) => Array.from({ length: LIST_KEYS / dirs.length }, (_, i) => `${d}f-${i}`));
  for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: 'x' }))));
  const list = s3Lister(s3, bucket, { maxAttempts: 3, budgetMs: 60_000 });
  let t = Date.now();
  let n = 0;
  for (const d of dirs) for await (const _o of list(d, new AbortController().signal)) n++;
  const oursMs = Date.now() - t;
  t = Date.now();
  let m = 0;
  for (const d of dirs) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: d, ContinuationToken: token }));
      m += page.Contents?.length ?? 0;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  const bareMs = Date.now() - t;
  if (n !== keys.length || m !== keys.length) throw new Error(`listed ${n} / ${m} of ${keys.length}`);
  s3.destroy();
  return { oursMs, bareMs, n };
}

try {
  const topics: string[] = [];
  for (let i = 0; i < 5; i++) topics.push((await ps.createTopic(`bench-publish-${i}`))[0].name.split('/').pop()!);
  await bare(topics[4]); // warm-up: gRPC channel, emulator JIT
  // Alternating rounds, best of two each: the machine is shared, so a single round is noisy.
  const runs = { bare: [] as number[], ours: [] as number[] };
  for (let round = 0; round < 2; round++) {
    runs.bare.push(await bare(topics[round * 2]));
    runs.ours.push(await ours(round, topics[round * 2 + 1]));
  }
  process.stderr.write(`rounds (ms): ${JSON.stringify(runs)}\n`);
  const b = Math.min(...runs.bare);
  const o = Math.min(...runs.ours);
  const l = await listing();
  const cmd = '`npx tsx bench/publish.bench.ts`';
  writeResults('publish', [
    `- publishObjectsList (${KEYS.toLocaleString('en')} keys, ${DIRS.toLocaleString('en')} subfolders, ${PER_MESSAGE} keys/message, batches of ${BATCH}): ${ratio(b, o)} of a bare @google-cloud/pubsub publish loop (ours ${perSecond(KEYS, o)}, bare ${perSecond(KEYS, b)}; best of 2 rounds each, ours includes claiming and flagging every row; 2 shared cores) -- ${cmd}`,
    `- publishObjectsList listing from the S3 emulator (${l.n.toLocaleString('en')} keys): ${ratio(l.bareMs, l.oursMs)} of a bare ListObjectsV2 paging loop (ours ${perSecond(l.n, l.oursMs)}, bare ${perSecond(l.n, l.bareMs)}) -- ${cmd}`,
  ]);
  await ps.close();
} finally {
  await stack.stop();
}
