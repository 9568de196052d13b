// The publishers' group flag on the real database: one statement flags every finished subfolder still
// ours, a subfolder whose lease was taken over is left to its new holder and named, and a flag retried
// after a lost reply still reports what it flagged. GroupCommit groups flags that arrive meanwhile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import type { Holder } from '../../src/state/leases.js';
import { claimForPublish, markDirPublished, markObjectsPublished } from '../../src/state/publish.js';
import { GroupCommit } from '../../src/publisher/groupCommit.js';
import { seedRows } from './seed.js';
import { testContext, type TestCtx } from '../helpers/context.js';

const T = 'transfer_state';
let ctx: TestCtx;
beforeAll(async () => {
  ctx = await testContext('publishFlags', {});
});
afterAll(async () => {
  await ctx.db.end();
});

/** A publisher's leases on this file's table, 900 s each. */
const as = (owner: string): Holder => ({ db: ctx.db, table: T, owner, leaseSeconds: 900 });

async function rows(prefix: string): Promise<RowDataPacket[]> {
  const [r] = await ctx.db.query<RowDataPacket[]>(
    `SELECT dir_key, cdn_transfer_published, initial_transfer, published_objects, published_bytes, cdn_publish_owner, cdn_publish_lease_until, sync_check_published, sync_check_publish_owner
     FROM ${T} WHERE dir_key LIKE ? ORDER BY dir_key`,
    [`${prefix}%`],
  );
  return r;
}

describe('group flags', () => {
  it('flags every row still ours with its own counts, and names the one taken over', async () => {
    const keys = ['g1/a/', 'g1/b/', 'g1/c/', 'g1/d/'];
    await seedRows(ctx.db, keys);
    const mine = (await claimForPublish(as('pub-A'), 'cdn', 10)).rows;
    expect(mine.map((r) => r.dirKey)).toEqual(keys);
    const byKey = new Map(mine.map((r) => [r.dirKey, r.id]));
    // pub-B took g1/c/ over after pub-A's lease expired (as its claim would), and has not flagged it yet.
    await ctx.db.query(`UPDATE ${T} SET cdn_publish_owner = 'pub-B' WHERE id = ?`, [byKey.get('g1/c/')]);
    const done = keys.map((k, i) => ({ id: byKey.get(k)!, objects: 10 + i, bytes: 1000 * (i + 1) }));
    const flagged = await markObjectsPublished(as('pub-A'), done);
    expect([...flagged].sort()).toEqual(['g1/a/', 'g1/b/', 'g1/d/'].map((k) => byKey.get(k)).sort());
    const after = await rows('g1/');
    expect(after.map((r) => [r.dir_key, r.cdn_transfer_published, r.initial_transfer, r.published_objects, Number(r.published_bytes), r.cdn_publish_owner])).toEqual([
      ['g1/a/', 1, 0, 10, 1000, 'pub-A'],
      ['g1/b/', 1, 0, 11, 2000, 'pub-A'],
      ['g1/c/', 0, 1, 0, 0, 'pub-B'], // untouched: its new holder flags it
      ['g1/d/', 1, 0, 13, 4000, 'pub-A'],
    ]);
    expect(after.filter((r) => r.dir_key !== 'g1/c/').every((r) => r.cdn_publish_lease_until === null)).toBe(true);
    // The reply was lost and the flag is retried: nothing matches any more, yet the same rows come back as ours.
    const again = await markObjectsPublished(as('pub-A'), done);
    expect([...again].sort()).toEqual([...flagged].sort());
    expect((await rows('g1/')).map((r) => r.published_objects)).toEqual([10, 11, 0, 13]);
  });

  it('flags dir lists the same way', async () => {
    const keys = ['g2/a/', 'g2/b/', 'g2/c/'];
    await seedRows(ctx.db, keys, { initial_transfer: false, gcs_size: 0 });
    await ctx.db.query(`UPDATE ${T} SET sync_check_published = TRUE WHERE dir_key LIKE 'g1/%'`); // only g2's rows are due
    const claimed = (await claimForPublish(as('pub-A'), 'syncCheck', 10)).rows;
    expect(claimed.map((r) => r.dirKey)).toEqual(keys);
    const ids = claimed.map((r) => r.id);
    await ctx.db.query(`UPDATE ${T} SET sync_check_publish_owner = 'pub-B' WHERE id = ?`, [ids[1]]);
    expect([...(await markDirPublished(as('pub-A'), 'syncCheck', ids))].sort()).toEqual([ids[0], ids[2]].sort());
    expect((await rows('g2/')).map((r) => [r.sync_check_published, r.sync_check_publish_owner])).toEqual([
      [1, 'pub-A'],
      [0, 'pub-B'],
      [1, 'pub-A'],
    ]);
  });
});

describe('GroupCommit', () => {
  it('flags at once when idle, groups what finishes during a flag, and caps a group at maxBatch', async () => {
    const groups: number[][] = [];
    let release!: () => void;
    let gate: Promise<void> = Promise.resolve();
    const gc = new GroupCommit<{ id: number }>(async (items) => {
      groups.push(items.map((i) => i.id));
      await gate;
      return new Set(items.filter((i) => i.id !== 4).map((i) => i.id)); // 4 was taken over
    }, 3);
    expect(await gc.submit({ id: 1 })).toBe(true);
    gate = new Promise((r) => (release = r));
    const first = gc.submit({ id: 2 }); // starts a flag that waits on the gate
    const rest = [3, 4, 5, 6, 7].map((id) => gc.submit({ id })); // finish meanwhile
    await new Promise((r) => setTimeout(r, 10));
    expect(groups).toEqual([[1], [2]]);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([true, true, false, true, true, true]);
    expect(groups).toEqual([[1], [2], [3, 4, 5], [6, 7]]);
  });

  it('fails only the group whose statement failed; the next flag runs', async () => {
    let fail = true;
    const gc = new GroupCommit<{ id: number }>(async (items) => {
      if (fail) {
        fail = false;
        throw new Error('connection lost');
      }
      return new Set(items.map((i) => i.id));
    }, 10);
    await expect(gc.submit({ id: 1 })).rejects.toThrow('connection lost');
    expect(await gc.submit({ id: 1 })).toBe(true);
  });
});
