// The per-phase totals the state table's triggers keep (sql/015, src/state/totals.ts) against the rows
// themselves summed by a GROUP BY (the publisher gate's sums too): equal after inserts, updates and deletes from many connections at once,
// a recount in the middle of them, a table without a base (recounted at its first status), and hundreds
// of closed connections folded into the base.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { testContext, type TestCtx } from '../helpers/context.js';
import { freshDatabase } from '../helpers/db.js';
import { createDb, type Db } from '../../src/common/db.js';
import { phaseTotals, PHASES, type PhaseTotals } from '../../src/state/status.js';
import { FOLD_AFTER_ROWS, recountTotals } from '../../src/state/totals.js';
import { publishedAndDone } from '../../src/state/pace.js';
import { withRetry } from '../../src/common/retry.js';

const T = 'transfer_state';
let ctx: TestCtx;
let mysql: Awaited<ReturnType<typeof freshDatabase>>;

beforeAll(async () => {
  mysql = await freshDatabase('totals');
  ctx = await testContext('totals', {}, { mysql });
});
afterAll(async () => {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

/** The judge of the publisher gate's sums: every row summed now. */
async function gateSums(): Promise<{ objects: number; bytes: number; done: number }> {
  const [[r]] = await ctx.db.query<RowDataPacket[]>(`SELECT SUM(published_objects) AS o, SUM(published_bytes) AS b, SUM(copied_objects + skipped_objects + failed_objects) AS d FROM ${T}`);
  return { objects: Number(r.o ?? 0), bytes: Number(r.b ?? 0), done: Number(r.d ?? 0) };
}

/** The judge: every row summed now (the sides as sql/015's columns define them), in status's shape. */
async function summedRows(): Promise<PhaseTotals> {
  const [rows] = await ctx.db.query<RowDataPacket[]>(
    `SELECT phase, COUNT(*) AS subfolders, SUM(best_s3_bytes) AS s3b, SUM(best_gcs_bytes) AS gcsb, SUM(best_s3_objects) AS s3o, SUM(best_gcs_objects) AS gcso FROM ${T} GROUP BY phase`,
  );
  const out = Object.fromEntries(PHASES.map((p) => [p, { subfolders: 0, s3Bytes: 0, gcsBytes: 0, s3Objects: 0, gcsObjects: 0 }])) as PhaseTotals;
  for (const r of rows) out[PHASES[Number(r.phase)]] = { subfolders: Number(r.subfolders), s3Bytes: Number(r.s3b), gcsBytes: Number(r.gcsb), s3Objects: Number(r.s3o), gcsObjects: Number(r.gcso) };
  return out;
}

async function totalsRows(): Promise<number> {
  const [[r]] = await ctx.db.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${T}_totals`);
  return Number(r.n);
}

// Deterministic pseudo-random numbers, so a failure replays.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** One random change of the columns the phase and the sides depend on, as the modes make them. */
function randomChange(r: () => number, keys: number): { sql: string; args: unknown[] } {
  const k = `t/${Math.floor(r() * keys)}/`;
  const few = `dir_key IN (?, ?, ?)`;
  const fewArgs = [k, `t/${Math.floor(r() * keys)}/`, `t/${Math.floor(r() * keys)}/`];
  switch (Math.floor(r() * 9)) {
    case 0: // dump: a new subfolder (or an existing one ignored)
      return { sql: `INSERT IGNORE INTO ${T} (dir_key, dir_key_sha, inventory_objects, inventory_bytes) VALUES (?, UNHEX(SHA2(?, 256)), ?, ?)`, args: [k, k, Math.floor(r() * 50), Math.floor(r() * 1e9)] };
    case 1: // publishObjectsList: published with its listing
      return { sql: `UPDATE ${T} SET cdn_transfer_published = TRUE, published_objects = ?, published_bytes = ? WHERE ${few}`, args: [Math.floor(r() * 100), Math.floor(r() * 1e10), ...fewArgs] };
    case 2: // cdnTransfer counters (may run ahead of the listing)
      return {
        sql: `UPDATE ${T} SET copied_objects = copied_objects + ?, copied_bytes = copied_bytes + ?, skipped_objects = skipped_objects + ?, failed_objects = failed_objects + ? WHERE dir_key = ?`,
        args: [Math.floor(r() * 20), Math.floor(r() * 1e8), Math.floor(r() * 3), Math.floor(r() * 2), k],
      };
    case 3: // syncCheck: measured, equal or not
      return { sql: `UPDATE ${T} SET sync_check_frequency = sync_check_frequency + 1, s3_size = ?, gcs_size = ?, s3_objects = ?, gcs_objects = ?, sync_check_last_end = UTC_TIMESTAMP(), sync_check_error = NULL WHERE dir_key = ?`, args: [1000, r() < 0.5 ? 1000 : 400, 10, r() < 0.5 ? 10 : 4, k] };
    case 4: // a failure recorded, or cleared
      return { sql: `UPDATE ${T} SET sync_check_error = ? WHERE ${few}`, args: [r() < 0.5 ? 'listing failed: HTTP 503' : null, ...fewArgs] };
    case 5: // rsync ended
      return { sql: `UPDATE ${T} SET rsync_frequency = rsync_frequency + 1, rsync_last_end = UTC_TIMESTAMP() + INTERVAL 1 SECOND WHERE dir_key = ?`, args: [k] };
    case 6: // a lease renewal: changes neither phase nor sides
      return { sql: `UPDATE ${T} SET sync_check_lease_until = UTC_TIMESTAMP() + INTERVAL 60 SECOND WHERE ${few}`, args: fewArgs };
    case 7: // many rows in one statement
      return { sql: `UPDATE ${T} SET published_objects = published_objects + 1 WHERE id % 7 = ? LIMIT 50`, args: [Math.floor(r() * 7)] };
    default: // gone
      return { sql: `DELETE FROM ${T} WHERE dir_key = ?`, args: [k] };
  }
}

describe('per-phase totals kept by triggers', () => {
  it('equal every row summed after concurrent inserts, updates and deletes from 6 connections and a recount among them', { timeout: 120_000 }, async () => {
    // Seeded first, then counted: the first status recounts a table it has no base for.
    for (let i = 0; i < 400; i += 100) {
      const vals = Array.from({ length: 100 }, (_, j) => `('t/${i + j}/', UNHEX(SHA2('t/${i + j}/', 256)), ${(i + j) % 3 === 0 ? 'TRUE' : 'FALSE'}, ${(i + j) % 40}, ${(i + j) * 1000})`);
      await ctx.db.query(`INSERT INTO ${T} (dir_key, dir_key_sha, cdn_transfer_published, published_objects, published_bytes) VALUES ${vals.join(', ')}`);
    }
    await ctx.db.query(`DELETE FROM ${T}_totals`);
    expect(await phaseTotals(ctx.db, T)).toEqual(await summedRows());

    const pools: Db[] = Array.from({ length: 6 }, () => createDb(mysql, { connectionLimit: 2 }));
    try {
      const writers = pools.map(async (pool, w) => {
        const r = rng(1000 + w);
        for (let i = 0; i < 400; i++) {
          const c = randomChange(r, 500);
          // Writers on the same rows may deadlock; InnoDB rolls one statement back whole, and the tool's
          // callers send it again (a transient error, common/errors.ts): so do these.
          await withRetry(() => pool.query(c.sql, c.args), { maxAttempts: 5, budgetMs: 30_000, baseDelayMs: 10 });
        }
      });
      const recounts = (async () => {
        for (let i = 0; i < 3; i++) {
          await new Promise((res) => setTimeout(res, 150));
          await recountTotals(ctx.db, T);
        }
      })();
      await Promise.all([...writers, recounts]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    const judged = await summedRows();
    // The workload reached most phases (a test of every transition, not of one).
    expect(Object.values(judged).filter((p) => p.subfolders > 0).length).toBeGreaterThanOrEqual(5);
    expect(await phaseTotals(ctx.db, T)).toEqual(judged);
    expect(await publishedAndDone(ctx.db, T)).toEqual(await gateSums());
  });

  it('rows of closed connections are folded into the base, the totals unchanged', { timeout: 120_000 }, async () => {
    const [existing] = await ctx.db.query<RowDataPacket[]>(`SELECT dir_key FROM ${T} ORDER BY id LIMIT 100`);
    expect(existing.length).toBe(100);
    for (let i = 0; i < FOLD_AFTER_ROWS / 2 + 20; i++) {
      const pool = createDb(mysql, { connectionLimit: 1 });
      // Each connection moves one row out of one phase into another (failed or back): two totals rows of its own.
      await pool.query(`UPDATE ${T} SET sync_check_error = IF(sync_check_error IS NULL, 'x', NULL) WHERE dir_key = ?`, [existing[i % 100].dir_key]);
      await pool.end();
    }
    expect(await totalsRows()).toBeGreaterThan(FOLD_AFTER_ROWS);
    const judged = await summedRows();
    expect(await phaseTotals(ctx.db, T)).toEqual(judged);
    // Folded by that read: the base and the marker are left (and this test's own pool's rows, if any).
    expect(await totalsRows()).toBeLessThan(20);
    expect(await phaseTotals(ctx.db, T)).toEqual(judged);
  });

  it('a lease renewal or claim writes no totals row', async () => {
    await recountTotals(ctx.db, T);
    const before = await totalsRows();
    await ctx.db.query(`UPDATE ${T} SET sync_check_lease_until = UTC_TIMESTAMP() + INTERVAL 1 HOUR, sync_check_owner = 'vm-1'`);
    expect(await totalsRows()).toBe(before);
  });
});
