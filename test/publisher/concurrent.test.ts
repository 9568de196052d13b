// Three publishers at once on one state table: every subfolder is published by exactly one of them.
import { beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run as publishObjects } from '../../src/publisher/publishObjectsList.js';
import { run as publishDirs } from '../../src/publisher/publishDirList.js';
import { decodeMessage, dirMessageSchema, objectsListMessageSchema, type ObjectEntry } from '../../src/common/messages.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { collect, freshTopic, pubsubClient } from './pubsub.js';
import { seedRows } from './seed.js';

const s3 = makeS3Client();
const ps = pubsubClient();
const bucket = uniqueName('pubconc');
const DIRS = Array.from({ length: 120 }, (_, i) => `data/d${String(i).padStart(3, '0')}/`);
const keysOf = (d: string): string[] => [`${d}a`, `${d}b/c`];

async function publishers(n: number, config: Record<string, unknown>): Promise<TestCtx[]> {
  const first = await testContext('publishObjectsList', config);
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => testContext('publishObjectsList', config, { mysql: first.secrets.mysql_config })));
  return [first, ...rest];
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = DIRS.flatMap(keysOf);
  for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((k) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }))));
});

describe('three publishers in parallel', () => {
  it('publishObjectsList: every subfolder published and flagged exactly once', async () => {
    const { topicId, subscriptionId } = await freshTopic(ps, 'pubconc');
    const ctxs = await publishers(3, { s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: topicId, num_single_message: 1 });
    await seedRows(ctxs[0].db, DIRS);
    const summaries = await Promise.all(ctxs.map((c) => publishObjects(c)));
    expect(summaries.reduce((n, s) => n + s.subfolders_published, 0)).toBe(DIRS.length);
    expect(summaries.reduce((n, s) => n + s.subfolders_failed + s.subfolders_lease_lost, 0)).toBe(0);

    const got = await collect(ps, subscriptionId, { minCount: DIRS.length * 2 });
    const keys = got.map((m) => {
      const d = decodeMessage(objectsListMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      return d.message.objects[0].key;
    });
    expect(keys.length).toBe(DIRS.length * 2); // no duplicates: nobody crashed, so nobody re-published
    expect(keys.sort()).toEqual(DIRS.flatMap(keysOf).sort());

    const [rows] = await ctxs[0].db.query<RowDataPacket[]>('SELECT cdn_transfer_published, published_objects, cdn_publish_owner FROM transfer_state');
    expect(rows.every((r) => r.cdn_transfer_published === 1 && Number(r.published_objects) === 2)).toBe(true);
    const owners = new Set(ctxs.map((c) => c.workerId));
    expect(rows.every((r) => owners.has(r.cdn_publish_owner as string))).toBe(true);
    for (const c of ctxs) await c.db.end();
  });

  it('publishDirList: every due subfolder published and flagged exactly once', async () => {
    const { topicId, subscriptionId } = await freshTopic(ps, 'pubconcdir');
    const ctxs = await publishers(3, { pubsub_topic_id: topicId });
    await seedRows(ctxs[0].db, DIRS, { initial_transfer: false, cdn_transfer_published: true });
    const summaries = await Promise.all(ctxs.map((c) => publishDirs(c, { purpose: 'syncCheck' })));
    expect(summaries.reduce((n, s) => n + s.subfolders_published, 0)).toBe(DIRS.length);
    const got = await collect(ps, subscriptionId, { minCount: DIRS.length });
    const dirs = got.map((m) => {
      const d = decodeMessage(dirMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      return d.message.dir_key;
    });
    expect(dirs.sort()).toEqual(DIRS);
    const [rows] = await ctxs[0].db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM transfer_state WHERE sync_check_published = TRUE');
    expect(Number(rows[0].n)).toBe(DIRS.length);
    for (const c of ctxs) await c.db.end();
  });

  it('a publish that outlasts its lease keeps it by renewal: another publisher never takes the row over', async () => {
    const { topicId } = await freshTopic(ps, 'pubrenew');
    const [a, b] = await publishers(2, { pubsub_topic_id: topicId, lease_seconds: 2 });
    await seedRows(a.db, ['data/slow/']);
    // 3x the lease: 12 objects, 500 ms apart.
    const slow = async function* (dirKey: string): AsyncGenerator<ObjectEntry> {
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 500));
        yield { key: `${dirKey}o${i}`, size: 1, etag: 'e', last_modified: '2024-01-31T10:00:00.000Z' };
      }
    };
    const running = publishObjects(a, { lister: slow });
    let finished = false;
    void running.finally(() => (finished = true));
    // B starts once A holds the row (otherwise B may simply claim it first).
    const ownerOf = async (): Promise<unknown> => (await a.db.query<RowDataPacket[]>('SELECT cdn_publish_owner AS o FROM transfer_state'))[0][0].o;
    while ((await ownerOf()) !== a.workerId) await new Promise((r) => setTimeout(r, 50));
    let stolen = 0;
    while (!finished) {
      stolen += (await publishObjects(b, { lister: slow })).subfolders_published;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(await running).toMatchObject({ subfolders_published: 1, subfolders_lease_lost: 0, objects: 12 });
    expect(stolen).toBe(0);
    for (const c of [a, b]) await c.db.end();
  });
});
