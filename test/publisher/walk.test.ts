// A dir-list claim walks the table in id order (the rows it wants are sparse among rows no index rules
// out): each claim continues where the last left off, skips no claimable row, and the loop wraps around
// to the start before it calls the table exhausted, so a row that became claimable behind the cursor is
// still published in the same run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import type { Holder } from '../../src/state/leases.js';
import { claimForPublish, releasePublish } from '../../src/state/publish.js';
import { startRecheck, type WalkCursor } from '../../src/state/publishable.js';
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
      expect(typeof r.next).toBe('number'); // a walk without a recheck goes in id order only
      cursor = r.next as number;
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

  it('a recheck walks the usual rows in id order, then the re-check-due ones in order of their last check: each once, and a row behind either cursor in the next pass', async () => {
    const all = keys('w3/', 20);
    const day = (d: number): Date => new Date(Date.UTC(2026, 0, d));
    const checkedOn = (d: number): Record<string, unknown> => ({
      initial_transfer: false,
      cdn_transfer_published: true,
      sync_check_published: true,
      sync_check_frequency: 1,
      s3_size: 5,
      gcs_size: 5,
      sync_check_last_start: day(d),
      sync_check_last_end: day(d),
    });
    await seedRows(ctx.db, all);
    const usual: string[] = []; // never checked: due by the usual criteria
    const due: string[] = []; // checked before the instant: due again, the later ids checked earlier
    for (const [i, k] of all.entries()) {
      if (i % 4 === 0) usual.push(k);
      if (i % 4 === 1) due.unshift(k);
      const set =
        i % 4 === 0
          ? { initial_transfer: false, cdn_transfer_published: true }
          : i % 4 === 1
            ? checkedOn(20 - i)
            : i % 4 === 2
              ? checkedOn(25) // after the instant: not due
              : { ...checkedOn(2), sync_check_in_progress: true, sync_check_owner: 'w', sync_check_lease_until: new Date(Date.now() + 3_600_000) }; // being checked
      const cols = Object.keys(set);
      await ctx.db.query(`UPDATE ${T} SET ${cols.map((c) => `\`${c}\` = ?`).join(', ')} WHERE dir_key = ?`, [...Object.values(set), k]);
    }
    // Due by both branches (never counted as checked, yet its last check ended before): taken once, as usual.
    await ctx.db.query(`UPDATE ${T} SET sync_check_last_start = ?, sync_check_last_end = ? WHERE dir_key = ?`, [day(1), day(1), usual[0]]);
    const recheck = await startRecheck(ctx.db, new Date('2026-01-24T00:00:00Z'));
    const taken: string[] = [];
    const cursors: WalkCursor[] = [];
    let cursor: WalkCursor = 0;
    for (let claims = 0; claims < 20; claims++) {
      const r = await claimForPublish(as('pub-R'), 'syncCheck', 2, recheck, cursor);
      if (r.seen === 0) break;
      taken.push(...r.rows.map((row) => row.dirKey));
      cursor = r.next!;
      cursors.push(cursor);
    }
    expect(taken).toEqual([...usual, ...due]); // the usual in id order, then the due by their last check
    expect(typeof cursors[0]).toBe('number');
    expect(cursors.at(-1)).toMatchObject({ id: (await idsOf([due.at(-1)!]))[0] });
    // Rows given back behind the cursors (a failed publish) are not read again from here, only from the start.
    const back = await idsOf([usual[2], due[1]]);
    for (const id of back) expect(await releasePublish(as('pub-R'), 'syncCheck', id, null, 0)).toBe(true);
    expect((await claimForPublish(as('pub-R'), 'syncCheck', 2, recheck, cursor)).seen).toBe(0);
    const again = await claimForPublish(as('pub-S'), 'syncCheck', 5, recheck, 0);
    expect(again).toMatchObject({ rows: [{ dirKey: usual[2] }], next: { id: 0 } }); // fewer than asked: on to the due rows
    expect((await claimForPublish(as('pub-S'), 'syncCheck', 5, recheck, again.next)).rows.map((r) => r.dirKey)).toEqual([due[1]]);
  });
});
