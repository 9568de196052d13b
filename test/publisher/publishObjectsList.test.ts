// publishObjectsList against the real stack (MariaDB, Pub/Sub emulator, patched s3rver): what is
// published, what is flagged, odd keys, empty subfolders, filters, dry run, and a topic gone mid-run.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run } from '../../src/publisher/publishObjectsList.js';
import { s3Lister } from '../../src/common/source/s3List.js';
import { decodeMessage, MAX_MESSAGE_BYTES, objectsListMessageSchema, type ObjectEntry, type ObjectsListMessage } from '../../src/common/messages.js';
import { seedRows } from './seed.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { collect, freshTopic, pubsubClient, type Received } from './pubsub.js';
import { cutoffBetween } from '../helpers/lastModified.js';
import { waitForDb } from '../helpers/wait.js';

const s3 = makeS3Client();
const ps = pubsubClient();
const bucket = uniqueName('pubobj');

// Keys of every odd kind S3 allows and XML 1.0 can carry (other control characters need EncodingType=url,
// which the S3 emulator does not implement). A folder marker (a key ending in "/") is an object like any
// other: it is published and copied.
const ODD = [
  'data/odd/with space.txt',
  'data/odd/plus+sign',
  'data/odd/pct%20encoded',
  'data/odd/unicodé-日本-😀',
  'data/odd/a//double-slash',
  'data/odd/back\\slash',
  'data/odd/tab\tkey',
  'data/odd/xml<&>"\'',
  'data/odd/?query#hash',
  `data/odd/${'s'.repeat(300)}/${'l'.repeat(600)}`,
  'data/odd/deep/er/and/deeper/file',
  'data/odd/folder-marker/',
];
const PLAIN = Array.from({ length: 7 }, (_, i) => `data/plain/f${i}.bin`);

async function put(key: string, body: string, storageClass?: 'STANDARD_IA'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(storageClass ? { StorageClass: storageClass } : {}) }));
}

async function ctxFor(extra: Record<string, unknown> = {}): Promise<TestCtx & { topicId: string; subscriptionId: string }> {
  const t = await freshTopic(ps, 'pubobj');
  const ctx = await testContext('publishObjectsList', { s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: t.topicId, num_single_message: 3, ...extra });
  return Object.assign(ctx, t);
}

function decode(got: Received[]): ObjectsListMessage[] {
  return got.map((m) => {
    const d = decodeMessage(objectsListMessageSchema, m.data);
    if (!d.ok) throw new Error(d.reason);
    expect(m.attributes).toMatchObject({ v: '1', kind: 'objects', objects: String(d.message.objects.length) });
    return d.message;
  });
}

async function rows(ctx: TestCtx): Promise<RowDataPacket[]> {
  const [r] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY dir_key');
  return r;
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const k of ODD) await put(k, `body of ${k}`);
  for (const k of PLAIN) await put(k, 'x'.repeat(100 + PLAIN.indexOf(k)));
  await put('data/other/only.txt', 'o'); // a subfolder not in the table: never listed
});

describe('publishObjectsList', () => {
  it('publishes every object once with size, unquoted ETag and date, and flags each subfolder with its counts', async () => {
    const ctx = await ctxFor();
    await seedRows(ctx.db, ['data/odd/', 'data/plain/', 'data/empty/']);
    const s = await run(ctx);
    expect(s).toMatchObject({ subfolders_published: 3, subfolders_failed: 0, objects: ODD.length + PLAIN.length, messages: Math.ceil(ODD.length / 3) + Math.ceil(PLAIN.length / 3) });

    const msgs = decode(await collect(ps, ctx.subscriptionId, { minCount: s.messages }));
    expect(msgs.length).toBe(s.messages);
    expect(msgs.every((m) => m.objects.length <= 3)).toBe(true);
    const objects = msgs.flatMap((m) => m.objects.map((o) => ({ ...o, dir: m.dir_key })));
    expect(objects.map((o) => o.key).sort()).toEqual([...ODD, ...PLAIN].sort());
    for (const o of objects) {
      expect(o.key.startsWith(o.dir)).toBe(true);
      const body = ODD.includes(o.key) ? `body of ${o.key}` : 'x'.repeat(100 + PLAIN.indexOf(o.key));
      expect(o.size).toBe(Buffer.byteLength(body));
      expect(o.etag).toBe(createHash('md5').update(body).digest('hex')); // S3's quotes removed
      expect(Math.abs(Date.parse(o.last_modified) - Date.now())).toBeLessThan(10 * 60_000);
    }

    const r = await rows(ctx);
    const plainBytes = PLAIN.reduce((n, _k, i) => n + 100 + i, 0);
    expect(r.map((x) => [x.dir_key, x.cdn_transfer_published, x.initial_transfer, Number(x.published_objects), Number(x.published_bytes), x.cdn_publish_lease_until])).toEqual([
      ['data/empty/', 1, 0, 0, 0, null],
      ['data/odd/', 1, 0, ODD.length, ODD.reduce((n, k) => n + Buffer.byteLength(`body of ${k}`), 0), null],
      ['data/plain/', 1, 0, PLAIN.length, plainBytes, null],
    ]);
    expect(r.every((x) => x.cdn_published_at instanceof Date && x.cdn_publish_error === null)).toBe(true);

    // Nothing left: a second run publishes nothing.
    expect(await run(ctx)).toMatchObject({ subfolders_published: 0, messages: 0 });
    await ctx.db.end();
  });

  it('filters by last_modified_after/before and storage_class', async () => {
    await put('data/filter/old-1', 'a');
    await put('data/filter/old-ia', 'b', 'STANDARD_IA');
    // A cutoff S3's stamps fall on either side of (they may be whole seconds): the new objects after it.
    const cutoff = await cutoffBetween(s3, bucket, ['data/filter/old-1', 'data/filter/old-ia'], ['data/filter/new-1', 'data/filter/new-ia'], async () => {
      await put('data/filter/new-1', 'c');
      await put('data/filter/new-ia', 'd', 'STANDARD_IA');
    });

    const cases: Array<[Record<string, unknown>, string[], Record<string, number>]> = [
      [{ last_modified_after: cutoff }, ['data/filter/new-1', 'data/filter/new-ia'], { last_modified_after: 2 }],
      [{ last_modified_before: cutoff }, ['data/filter/old-1', 'data/filter/old-ia'], { last_modified_before: 2 }],
      [{ storage_class: 'STANDARD_IA' }, ['data/filter/new-ia', 'data/filter/old-ia'], { storage_class: 2 }],
      [{ storage_class: ['STANDARD'], last_modified_after: cutoff }, ['data/filter/new-1'], { last_modified_after: 2, storage_class: 1 }],
    ];
    for (const [filters, expected, filtered] of cases) {
      const ctx = await ctxFor(filters);
      await seedRows(ctx.db, ['data/filter/']);
      const s = await run(ctx);
      expect(s.filtered).toMatchObject(filtered);
      const msgs = decode(await collect(ps, ctx.subscriptionId, { minCount: s.messages }));
      expect(msgs.flatMap((m) => m.objects.map((o) => o.key)).sort()).toEqual(expected);
      expect(Number((await rows(ctx))[0].published_objects)).toBe(expected.length);
      await ctx.db.end();
    }
  });

  it('dry run lists what would be published and publishes, claims and flags nothing', async () => {
    const ctx = await ctxFor();
    await seedRows(ctx.db, ['data/plain/', 'data/empty/']);
    const before = await rows(ctx);
    const s = await run(ctx, { dryRun: true });
    expect(s).toMatchObject({ dry_run: true, subfolders_published: 2, objects: PLAIN.length, messages: Math.ceil(PLAIN.length / 3) });
    expect(await rows(ctx)).toEqual(before);
    expect(await collect(ps, ctx.subscriptionId, { quietMs: 1000 })).toEqual([]);
    const lines = ctx.logs.map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.message.includes('would publish')).map((l) => [l.dir_key, l.objects])).toEqual([
      ['data/plain/', PLAIN.length],
      ['data/empty/', 0],
    ]);
    await ctx.db.end();
  });

  it('refuses a missing topic before claiming anything', async () => {
    const ctx = await testContext('publishObjectsList', { s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: uniqueName('missing'), max_attempts: 2, retry_budget_ms: 2000 });
    await seedRows(ctx.db, ['data/plain/']);
    await expect(run(ctx)).rejects.toThrow(/Pub\/Sub topic projects\/ott-local\/topics\/missing-\S+ does not exist.*nothing was claimed/);
    expect((await rows(ctx))[0]).toMatchObject({ cdn_transfer_published: 0, cdn_publish_owner: null, cdn_publish_lease_until: null });
    await ctx.db.end();
  });

  it('a topic gone mid-run: nothing flagged, the error on each row, then retried once it is back', async () => {
    const ctx = await ctxFor();
    await seedRows(ctx.db, ['data/odd/', 'data/plain/']);
    const list = s3Lister(s3, bucket, { maxAttempts: 2, budgetMs: 5000 });
    let deleted = false;
    // Fault injection at the real service: the topic is deleted after the run checked it, before any publish.
    const lister = async function* (dirKey: string, signal: AbortSignal) {
      if (!deleted) {
        deleted = true;
        await ps.topic(ctx.topicId).delete();
      }
      yield* list(dirKey, signal);
    };
    const s = await run(ctx, { lister, retryAfterSeconds: 1 });
    expect(s).toMatchObject({ subfolders_published: 0, subfolders_failed: 2 });
    expect(s.failures[0].reason).toMatch(/NOT_FOUND|not found|gRPC 5/i);
    for (const r of await rows(ctx)) {
      expect(r).toMatchObject({ cdn_transfer_published: 0, initial_transfer: 1, cdn_publish_owner: null });
      expect(r.cdn_publish_error).toMatch(/NOT_FOUND|not found|gRPC 5/i);
    }
    await ps.createTopic(ctx.topicId);
    await waitForDb(ctx.db, "the rows' retry delay", 'SELECT COUNT(*) = 0 AS ok FROM transfer_state WHERE cdn_publish_lease_until >= UTC_TIMESTAMP()');
    const again = await run(ctx);
    expect(again).toMatchObject({ subfolders_published: 2, subfolders_failed: 0, objects: ODD.length + PLAIN.length });
    expect((await rows(ctx)).every((r) => r.cdn_transfer_published === 1 && r.cdn_publish_error === null)).toBe(true);
    await ctx.db.end();
  });

  it('keeps every message under the 10 MB limit whatever the key lengths, streaming a large subfolder', async () => {
    const ctx = await ctxFor({ num_single_message: 10_000 });
    await seedRows(ctx.db, ['data/huge/']);
    const N = 12_000;
    // 1024-byte keys: 10,000 of them would make a 10+ MB message, so packing must cut by bytes too.
    const lister = async function* (dirKey: string): AsyncGenerator<ObjectEntry> {
      for (let i = 0; i < N; i++) {
        const name = `${String(i).padStart(6, '0')}-`;
        yield { key: dirKey + name + 'k'.repeat(1024 - dirKey.length - name.length), size: i, etag: 'd41d8cd98f00b204e9800998ecf8427e-2', last_modified: '2024-01-31T10:00:00.000Z' };
      }
    };
    const s = await run(ctx, { lister });
    expect(s).toMatchObject({ subfolders_published: 1, objects: N, messages: 2 });
    const got = await collect(ps, ctx.subscriptionId, { minCount: 2 });
    expect(got.every((m) => m.data.length <= MAX_MESSAGE_BYTES)).toBe(true);
    const msgs = decode(got);
    expect(msgs.reduce((n, m) => n + m.objects.length, 0)).toBe(N);
    expect(new Set(msgs.flatMap((m) => m.objects.map((o) => o.key))).size).toBe(N);
    await ctx.db.end();
  });
});
