// publishDirList against the real stack: which subfolders each purpose selects, what is flagged, dry run.
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { run } from '../../src/publisher/publishDirList.js';
import { decodeMessage, dirMessageSchema } from '../../src/common/messages.js';
import { dirKeyHash } from '../../src/publisher/topic.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { collect, freshTopic, pubsubClient } from './pubsub.js';
import { seedRows } from './seed.js';

const ps = pubsubClient();
const PUBLISHED = { initial_transfer: false, cdn_transfer_published: true };

/** Subfolders in every state that matters to the two purposes, and which purpose should take each. */
const STATES: Array<[string, Record<string, unknown>, 'syncCheck' | 'rsync' | null]> = [
  ['data/never-checked/', { ...PUBLISHED }, 'syncCheck'],
  ['data/nothing-in-gcs/', { ...PUBLISHED, sync_check_frequency: 2, s3_size: 10, gcs_size: 0 }, 'rsync'], // also due a check: see below
  ['data/waiting-for-cdn-publish/', {}, null],
  ['data/check-published/', { ...PUBLISHED, sync_check_published: true }, null],
  ['data/in-sync/', { ...PUBLISHED, sync_check_frequency: 1, s3_size: 5, gcs_size: 5, s3_objects: 2, gcs_objects: 2 }, null],
  ['data/size-differs/', { ...PUBLISHED, sync_check_frequency: 1, s3_size: 5, gcs_size: 4, s3_objects: 2, gcs_objects: 2 }, 'rsync'],
  ['data/count-differs/', { ...PUBLISHED, sync_check_frequency: 1, s3_size: 5, gcs_size: 5, s3_objects: 3, gcs_objects: 2 }, 'rsync'],
  ['data/rsync-published/', { ...PUBLISHED, sync_check_frequency: 1, s3_size: 5, gcs_size: 4, rsync_published: true }, null],
  ['data/odd key ü+%/', { ...PUBLISHED }, 'syncCheck'],
  // A repair is confirmed by a new check: rsynced after its last check -> due; checked after its rsync -> not.
  ['data/rsynced-since-check/', { ...PUBLISHED, sync_check_frequency: 1, s3_size: 5, gcs_size: 5, s3_objects: 2, gcs_objects: 2, rsync_published: true, rsync_frequency: 1, sync_check_last_end: new Date('2026-01-01T00:00:00Z'), rsync_last_end: new Date('2026-01-01T01:00:00Z') }, 'syncCheck'],
  ['data/checked-since-rsync/', { ...PUBLISHED, sync_check_frequency: 2, s3_size: 5, gcs_size: 5, s3_objects: 2, gcs_objects: 2, rsync_published: true, rsync_frequency: 1, sync_check_last_end: new Date('2026-01-01T02:00:00Z'), rsync_last_end: new Date('2026-01-01T01:00:00Z') }, null],
];
// gcs_size = 0 is due a sync check whatever its frequency (the reference's condition), and differs in size.
const SYNC_CHECK = [...STATES.filter((s) => s[2] === 'syncCheck').map((s) => s[0]), 'data/nothing-in-gcs/'].sort();
const RSYNC = STATES.filter((s) => s[2] === 'rsync').map((s) => s[0]).sort();

async function setup(): Promise<TestCtx & { subscriptionId: string }> {
  const { topicId, subscriptionId } = await freshTopic(ps, 'pubdir');
  const ctx = await testContext('publishDirList', { pubsub_topic_id: topicId });
  for (const [dirKey, set] of STATES) await seedRows(ctx.db, [dirKey], set);
  return Object.assign(ctx, { subscriptionId });
}

async function flagged(ctx: TestCtx, column: string): Promise<string[]> {
  const [rows] = await ctx.db.query<RowDataPacket[]>(`SELECT dir_key FROM transfer_state WHERE ${column} = TRUE ORDER BY dir_key`);
  return rows.map((r) => r.dir_key as string);
}

describe('publishDirList', () => {
  it.each([
    ['syncCheck', 'sync_check_published', SYNC_CHECK],
    ['rsync', 'rsync_published', RSYNC],
  ] as const)('--purpose %s publishes exactly the due subfolders, once, and flags them', async (purpose, column, expected) => {
    const ctx = await setup();
    const before = await flagged(ctx, column);
    const s = await run(ctx, { purpose });
    expect(s).toMatchObject({ purpose, subfolders_published: expected.length, subfolders_failed: 0 });
    const got = await collect(ps, ctx.subscriptionId, { minCount: expected.length });
    const msgs = got.map((m) => {
      const d = decodeMessage(dirMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      expect(d.message.purpose).toBe(purpose);
      expect(m.attributes).toEqual({ v: '1', kind: 'dir', purpose, dir_key_sha: dirKeyHash(d.message.dir_key) });
      return d.message.dir_key;
    });
    expect(msgs.sort()).toEqual(expected);
    expect(await flagged(ctx, column)).toEqual([...before, ...expected].sort());
    expect(await run(ctx, { purpose })).toMatchObject({ subfolders_published: 0 });
    await ctx.db.end();
  });

  it('dry run logs the due subfolders and publishes, claims and flags nothing', async () => {
    const ctx = await setup();
    const [before] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY id');
    const s = await run(ctx, { purpose: 'rsync', dryRun: true });
    expect(s).toMatchObject({ dry_run: true, subfolders_published: RSYNC.length });
    const [after] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY id');
    expect(after).toEqual(before);
    expect(await collect(ps, ctx.subscriptionId, { quietMs: 1000 })).toEqual([]);
    const logged = ctx.logs.map((l) => JSON.parse(l)).filter((l) => l.message.includes('would publish'));
    expect(logged.map((l) => l.dir_key).sort()).toEqual(RSYNC);
    await ctx.db.end();
  });

  it('refuses an unknown purpose', async () => {
    const ctx = await setup();
    await expect(run(ctx, { purpose: 'copy' as 'rsync' })).rejects.toThrow(/--purpose got "copy", expected one of syncCheck, rsync/);
    await ctx.db.end();
  });

  it('--follow keeps polling: rows that become due later are published, until shutdown', async () => {
    const { topicId, subscriptionId } = await freshTopic(ps, 'pubfollow');
    const ctx = await testContext('publishDirList', { pubsub_topic_id: topicId });
    const running = run(ctx, { purpose: 'syncCheck', follow: true });
    await new Promise((r) => setTimeout(r, 1500)); // polling an empty table
    await seedRows(ctx.db, ['data/late-1/', 'data/late-2/'], PUBLISHED);
    const got = await collect(ps, subscriptionId, { minCount: 2, maxWaitMs: 60_000 });
    expect(got.map((m) => JSON.parse(m.data.toString()).dir_key).sort()).toEqual(['data/late-1/', 'data/late-2/']);
    for (let i = 0; i < 50 && (await flagged(ctx, 'sync_check_published')).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    ctx.abort();
    expect(await running).toMatchObject({ subfolders_published: 2, subfolders_failed: 0 });
    expect(await flagged(ctx, 'sync_check_published')).toEqual(['data/late-1/', 'data/late-2/']);
    await ctx.db.end();
  });
});
