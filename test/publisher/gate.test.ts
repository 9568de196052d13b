// publishObjectsList holds back on the real stack: past spend_cap_usd a run stops publishing, records why
// (status shows it) and a raised cap lets the next run finish; with a fleet rate too slow for the backlog
// to be read within half the retention, a follow run waits and resumes once the workers catch up.
import { beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run } from '../../src/publisher/publishObjectsList.js';
import { spendOf } from '../../src/publisher/gate.js';
import { loadPrices } from '../../src/estimate/prices.js';
import { queryStatus, renderStatus } from '../../src/ops/status.js';
import { seedRows } from './seed.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { freshTopic, pubsubClient } from './pubsub.js';
import { waitFor } from '../helpers/wait.js';

const s3 = makeS3Client();
const ps = pubsubClient();
const bucket = uniqueName('gate');
// More subfolders than the publisher lists at once (32): the rows already being listed when the gate closes
// are published (an overshoot of at most that many subfolders), the rest are not.
const DIRS = Array.from({ length: 70 }, (_, i) => `data/d${String(i).padStart(2, '0')}/`);
const PER_DIR = 3;

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await Promise.all(DIRS.map(async (d) => { for (let i = 0; i < PER_DIR; i++) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${d}o${i}`, Body: Buffer.alloc(1000, 1) })); }));
});

async function ctxFor(extra: Record<string, unknown>): Promise<TestCtx> {
  const t = await freshTopic(ps, 'gate');
  const ctx = await testContext('publishObjectsList', { s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: t.topicId, num_single_message: 5, ...extra });
  await seedRows(ctx.db, DIRS);
  return ctx;
}

async function published(ctx: TestCtx): Promise<number> {
  const [[r]] = await ctx.db.query<RowDataPacket[]>('SELECT SUM(cdn_transfer_published) AS n FROM transfer_state');
  return Number(r.n);
}

describe('the publish gate', () => {
  it('stops at the spend cap, says so in status, and a raised cap publishes the rest', async () => {
    const perDir = spendOf(loadPrices(), PER_DIR, PER_DIR * 1000, 5);
    const cap = perDir * 2.5; // two subfolders fit, the third crosses it
    const ctx = await ctxFor({ spend_cap_usd: cap });
    const s = await run(ctx, { gateCheckEveryMs: 0 });
    const n = await published(ctx);
    expect(n).toBeGreaterThanOrEqual(3);
    expect(n).toBeLessThanOrEqual(32 + 3); // stopped after what was already being listed
    expect(s.subfolders_published).toBe(n);
    const status = await queryStatus(ctx.db, 'transfer_state');
    expect(status.pace.holds).toMatchObject([{ kind: 'cdn', reason: 'spend cap' }]);
    expect(renderStatus(status)).toMatch(/publishing held \(cdn\) since .*: spend cap reached: ~\$[\d.]+ estimated for \d+ objects published, spend_cap_usd is/);
    expect(ctx.logs.some((l) => l.includes('holding back: spend cap reached'))).toBe(true);
    await ctx.db.end();
    // The operator raises the cap: the next run publishes the rest and clears the hold.
    const again = await testContext('publishObjectsList', { ...ctx.config, spend_cap_usd: 1000 }, { mysql: ctx.secrets.mysql_config, migrate: false });
    await run(again, { gateCheckEveryMs: 0 });
    expect(await published(again)).toBe(DIRS.length);
    expect((await queryStatus(again.db, 'transfer_state')).pace.holds).toEqual([]);
    await again.db.end();
  });

  it('waits while the backlog would outlast half the retention at the fleet rate, and resumes when workers catch up', async () => {
    // Retention 20 s: at a fleet rate of 1 object/s, more than 10 objects not yet done is too many.
    const ctx = await ctxFor({ pubsub_retention_seconds: 20 });
    await ctx.db.query("INSERT INTO fleet_pace (state_table, rate_now, next_step_at) VALUES ('transfer_state', 1, UTC_TIMESTAMP() + INTERVAL 1 DAY)");
    const running = run(ctx, { follow: true, gateCheckEveryMs: 0 });
    await waitFor('a backlog hold', async () => {
      const [rows] = await ctx.db.query<RowDataPacket[]>("SELECT reason FROM publish_holds WHERE reason = 'backlog'");
      return rows.length > 0;
    });
    const heldAt = await published(ctx);
    expect(heldAt).toBeLessThanOrEqual(32 + 1);
    // The workers copy what was published (as cdnTransfer's counters record it): the publisher goes on.
    await ctx.db.query('UPDATE transfer_state SET copied_objects = published_objects WHERE cdn_transfer_published = TRUE');
    await waitFor('more published after the backlog drained', async () => (await published(ctx)) > heldAt, 30_000);
    ctx.abort();
    await running.catch(() => undefined);
    await ctx.db.end();
  });
});
