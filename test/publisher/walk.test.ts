// A dir-list claim walks the table in id order (the rows it wants are sparse among rows no index rules
// out): each claim continues where the last left off, skips no claimable row, and the loop wraps around
// to the start before it calls the table exhausted, so a row that became claimable behind the cursor is
// still published in the same run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import type { Holder } from '../../src/state/leases.js';
import { claimForPublish, releasePublish } from '../../src/state/publish.js';
import { runClaimLoop } from '../../src/publisher/loop.js';
import { seedRows } from './seed.js';
import { testContext, type TestCtx } from '../helpers/context.js';

const T = 'transfer_state';
let ctx: TestCtx;
beforeAll(async () => {
  ctx = await testContext('publishWalk', {});
});
afterAll(async () => {
  await ctx.db.end();
});

/** A publisher's leases on this file's table, 900 s each. */
const as = (owner: string): Holder => ({ db: ctx.db, table: T, owner, leaseSeconds: 900 });

const keys = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}/`);

async function idsOf(dirKeys: string[]): Promise<number[]> {
  const [rows] = await ctx.db.query<RowDataPacket[]>(`SELECT id FROM ${T} WHERE dir_key IN (?) ORDER BY id`, [dirKeys]);
  return rows.map((r) => Number(r.id));
}

describe('claim walk', () => {
  it('takes every sparse claimable row exactly once, each claim continuing after the last row it read', async () => {
    const all = keys('w1/', 60);
    const mismatched = all.filter((_, i) => i % 7 === 3); // 9 rows among 60
    await seedRows(ctx.db, all, { initial_transfer: false, cdn_transfer_published: true, sync_check_frequency: 1, s3_size: 100, gcs_size: 100 });
    await ctx.db.query(`UPDATE ${T} SET gcs_size = 1 WHERE dir_key IN (?)`, [mismatched]);
    const taken: string[] = [];
    let cursor = 0;
    let claims = 0;
    for (;;) {
      const r = await claimForPublish(as('pub-A'), 'rsync', 2, undefined, cursor);
      claims++;
      expect(r.next).toBeDefined();
      if (r.seen === 0) break;
      expect(r.rows.every((row) => row.id > cursor)).toBe(true);
      expect(r.next!).toBe(Math.max(...r.rows.map((row) => row.id))); // exactly past what it read...
      expect(r.next!).toBeGreaterThanOrEqual(cursor); // ...and never backwards
      taken.push(...r.rows.map((row) => row.dirKey));
      cursor = r.next!;
    }
    expect(taken.sort()).toEqual(mismatched);
    expect(claims).toBeLessThanOrEqual(mismatched.length / 2 + 2);
    // A row released behind the cursor is claimable again: the walk from here misses it, one from 0 finds it.
    const [back] = await idsOf([mismatched[1]]);
    expect(await releasePublish(as('pub-A'), 'rsync', back, null, 0)).toBe(true);
    expect((await claimForPublish(as('pub-A'), 'rsync', 2, undefined, cursor)).seen).toBe(0);
    expect((await claimForPublish(as('pub-B'), 'rsync', 2, undefined, 0)).rows.map((r) => r.dirKey)).toEqual([mismatched[1]]);
  });

  it('the claim loop wraps around: a row that becomes claimable behind the cursor is handled in the same run', async () => {
    const all = keys('w2/', 40);
    const mismatched = [all[20], all[30]];
    await seedRows(ctx.db, all, { initial_transfer: false, cdn_transfer_published: true, sync_check_frequency: 1, s3_size: 100, gcs_size: 100 });
    await ctx.db.query(`UPDATE ${T} SET gcs_size = 1 WHERE dir_key IN (?)`, [[...mismatched, all[10]]]);
    // all[10] is held by a live rsync publish lease of another publisher, which gives it up once the
    // walk is past it (the first claim already is: it starts at all[20]).
    const [held] = await idsOf([all[10]]);
    await ctx.db.query(`UPDATE ${T} SET rsync_publish_owner = 'pub-X', rsync_publish_lease_until = NOW() + INTERVAL 1 HOUR WHERE id = ?`, [held]);
    const handled: string[] = [];
    const owner = 'pub-W';
    await runClaimLoop({
      concurrency: 1,
      claimBatch: 1,
      follow: false,
      leaseSeconds: 900,
      signal: new AbortController().signal,
      log: ctx.log,
      retry: { maxAttempts: 2, budgetMs: 5000 },
      claim: (limit, afterId) => claimForPublish(as(owner), 'rsync', limit, undefined, afterId),
      renew: async () => 0,
      handle: async (row) => {
        handled.push(row.dirKey);
        await ctx.db.query(`UPDATE ${T} SET rsync_published = TRUE WHERE id = ?`, [row.id]); // as its flag would
        if (handled.length === 1) await releasePublish(as('pub-X'), 'rsync', held, null, 0);
      },
      giveBack: async () => undefined,
    });
    expect(handled.slice(0, 2).sort()).toEqual(mismatched);
    expect(handled.slice(2)).toEqual([all[10]]); // found by the walk's second pass, from the start
  });
});
