// sql/017 dropped the indexes on the publish leases' owners: every statement that names a publish owner
// must find its rows by primary key (the ids it is given), never by the owner. Each publish transition runs
// for real (claim, renew, flag, a flag after a takeover, release) while its SQL is recorded; each recorded
// statement naming an owner is then EXPLAINed: a read of the ids it was given, no scan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { claimForPublish, markDirPublished, markObjectsPublished, releasePublish, renewPublishLeases } from '../../src/state/publish.js';
import type { Db } from '../../src/common/db.js';
import type { Holder } from '../../src/state/leases.js';
import { testContext, type TestCtx } from '../helpers/context.js';

const T = 'transfer_state';
let ctx: TestCtx;
/** SQL text and parameters of every statement naming a publish owner. */
const recorded: { sql: string; params: unknown[] }[] = [];

beforeAll(async () => {
  ctx = await testContext('publishOwnerKeys', {});
  const values = Array.from({ length: 2000 }, (_, i) => `('k/${String(i).padStart(5, '0')}/', UNHEX(SHA2('k/${String(i).padStart(5, '0')}/', 256)), ${i % 2 ? 'TRUE' : 'FALSE'})`);
  // Even rows new (objects lists due), odd rows published with their objects lists (dir lists due for syncCheck).
  await ctx.db.query(`INSERT INTO ${T} (dir_key, dir_key_sha, cdn_transfer_published) VALUES ${values.join(', ')}`);
  await ctx.db.query(`UPDATE ${T} SET initial_transfer = FALSE WHERE cdn_transfer_published = TRUE`);
  await ctx.db.query(`ANALYZE TABLE ${T}`);
});
afterAll(async () => {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

/** A holder whose statements (the transitions', not this file's own reads) are recorded. */
function holder(owner: string): Holder {
  const query = (sql: string, params?: unknown[]): unknown => {
    if (/_publish_owner/.test(sql)) recorded.push({ sql, params: params ?? [] });
    return ctx.db.query(sql, params);
  };
  return { db: { query } as unknown as Db, table: T, owner, leaseSeconds: 60 };
}

describe('publish leases without owner indexes (sql/017)', () => {
  it('the state table has no index on a publish owner', async () => {
    const [rows] = await ctx.db.query<RowDataPacket[]>(
      "SELECT DISTINCT index_name AS i FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND column_name LIKE '%publish_owner'",
      [T],
    );
    expect(rows.map((r) => r.i)).toEqual([]);
  });

  it('claims, renews, flags and releases by id; a row taken over is not flagged for its first holder', async () => {
    const [a, b] = [holder('pub-A'), holder('pub-B')];
    const mine = await claimForPublish(a, 'cdn', 50);
    const theirs = await claimForPublish(b, 'cdn', 50);
    expect(mine.rows).toHaveLength(50);
    expect(theirs.rows).toHaveLength(50);
    expect(new Set([...mine.rows, ...theirs.rows].map((r) => r.id)).size).toBe(100);
    expect(await renewPublishLeases(a, 'cdn', mine.rows.map((r) => r.id))).toBe(50);
    // B takes one of A's rows over (its lease expired, say): A's flag must leave it to B.
    const [lost, ...kept] = mine.rows;
    await ctx.db.query(`UPDATE ${T} SET cdn_publish_owner = 'pub-B' WHERE id = ?`, [lost.id]);
    const flagged = await markObjectsPublished(a, mine.rows.map((r) => ({ id: r.id, objects: 1, bytes: 10 })));
    expect([...flagged].sort((x, y) => x - y)).toEqual(kept.map((r) => r.id));
    expect(await releasePublish(b, 'cdn', theirs.rows[0].id, 'listing failed', 0)).toBe(true);
    expect(await releasePublish(a, 'cdn', theirs.rows[1].id, 'not ours', 0)).toBe(false);
    const dirs = await claimForPublish(a, 'syncCheck', 20, undefined, 0);
    expect(dirs.rows).toHaveLength(20);
    expect((await markDirPublished(a, 'syncCheck', dirs.rows.map((r) => r.id))).size).toBe(20);
    const [[counts]] = await ctx.db.query<RowDataPacket[]>(
      `SELECT SUM(cdn_transfer_published AND cdn_publish_owner = 'pub-A' AND initial_transfer = FALSE) AS a_flagged,
              SUM(sync_check_published AND sync_check_publish_owner = 'pub-A') AS dirs_flagged,
              SUM(cdn_publish_error = 'listing failed' AND cdn_publish_owner IS NULL) AS released FROM ${T}`,
    );
    expect(counts).toMatchObject({ a_flagged: '49', dirs_flagged: '20', released: '1' });
  });

  it('every statement naming a publish owner reads the ids it was given', async () => {
    expect(recorded.length).toBeGreaterThan(5);
    for (const { sql, params } of recorded) {
      const [plan] = await ctx.db.query<RowDataPacket[]>(`EXPLAIN ${sql}`, params);
      const state = plan.filter((p) => p.table === T);
      expect(state.length, sql).toBeGreaterThan(0);
      // PRIMARY, or an index of the ids within a flag's value (ix_sync_check_due is (flag, id)): a read of
      // the ids it was given either way, never of every row with the owner or the flag.
      for (const p of state) {
        expect(p.key, sql).toBeTruthy();
        expect(['ALL', 'index'], sql).not.toContain(p.type);
        expect(Number(p.rows), sql).toBeLessThanOrEqual(50);
      }
    }
  });
});
