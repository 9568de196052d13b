// Benchmark: `ott status` queries on 10,000,000 seeded subfolders spread over every phase (issue 19: < 2 s),
// against a bare `SELECT COUNT(*)` of the same table (the cheapest full count MariaDB can do) and against the
// per-phase sums over every row (what status did before sql/015 kept them), same run. Median of 5 after a
// warm-up (the warm-up is the table's first status: it recounts, timed on its own).
// Usage: npx tsx bench/status.bench.ts [--rows N]
import { createConnection } from 'mysql2/promise';
import { startStack } from '../test/stack/index.js';
import { migrate } from '../src/common/migrate.js';
import { createDb } from '../src/common/db.js';
import { queryStatus } from '../src/ops/status.js';
import { rateRatio, writeResults } from './results.js';
import { totalsTriggers } from './dumpBase.js';

const argRows = process.argv.indexOf('--rows');
const N = argRows > 0 ? Number(process.argv[argRows + 1]) : 10_000_000;
const stack = await startStack({ only: ['mariadb'] });
const env = stack.env;

async function median(fn: () => Promise<unknown>, runs = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

try {
  const c = await createConnection({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD });
  await c.query('CREATE DATABASE bench_status');
  await c.end();
  const db = createDb({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD, database: 'bench_status', ssl_disabled: true });
  await migrate(db, 'state');
  // Seeded without sql/015's triggers, which are created again after (as bench/dumpBase.ts does): the
  // table's first status then recounts the totals, as on a table older than 015.
  const triggers = await totalsTriggers();
  for (const t of triggers) await db.query(`DROP TRIGGER ${t.name}`);
  // Every phase represented: i % 10 picks the row's story; a few hundred live and stale claims and errors.
  const seedStart = Date.now();
  for (let from = 1; from <= N; from += 100_000) {
    const to = Math.min(N, from + 99_999);
    await db.query(`INSERT INTO state (dir_key, dir_key_sha, cdn_transfer_published, published_objects, published_bytes, copied_objects, copied_bytes,
        sync_check_frequency, s3_size, gcs_size, s3_objects, gcs_objects, rsync_frequency, rsync_last_end, sync_check_last_end, sync_check_error,
        sync_check_in_progress, sync_check_owner, sync_check_lease_until)
      SELECT CONCAT('root/sub-', LPAD(seq, 8, '0'), '/'), UNHEX(SHA2(CONCAT('root/sub-', LPAD(seq, 8, '0'), '/'), 256)),
        seq % 10 > 0, 100, 1048576, IF(seq % 10 > 1, 100, 40), IF(seq % 10 > 1, 1048576, 419430),
        seq % 10 > 2, IF(seq % 10 > 2, 1048576, 0), IF(seq % 10 > 2, IF(seq % 10 = 4, 524288, 1048576), 0), IF(seq % 10 > 2, 100, 0), IF(seq % 10 > 2, IF(seq % 10 = 4, 50, 100), 0),
        seq % 10 = 5, IF(seq % 10 = 5, '2026-01-02', NULL), IF(seq % 10 > 2, '2026-01-01', NULL), IF(seq % 1000 = 7, 'listing failed: HTTP 503', NULL),
        seq % 5000 = 3, IF(seq % 5000 = 3, 'vm', NULL), IF(seq % 5000 = 3, IF(seq % 10000 = 3, UTC_TIMESTAMP() + INTERVAL 1 HOUR, '2020-01-01'), NULL)
      FROM seq_${from}_to_${to}`);
  }
  for (const t of triggers) await db.query(t.sql);
  await db.query('DELETE FROM state_totals');
  await db.query('ANALYZE TABLE state');
  const seedS = (Date.now() - seedStart) / 1000;
  const firstT = performance.now();
  await queryStatus(db, 'state');
  const firstMs = performance.now() - firstT;
  const bareMs = await median(() => db.query('SELECT COUNT(*) FROM state'));
  let last: Awaited<ReturnType<typeof queryStatus>> | undefined;
  const oursMs = await median(async () => (last = await queryStatus(db, 'state')));
  const rowsMs = await median(() =>
    db.query('SELECT phase, COUNT(*), SUM(best_s3_bytes), SUM(best_gcs_bytes), SUM(best_s3_objects), SUM(best_gcs_objects) FROM state IGNORE INDEX (ix_phase_updated) GROUP BY phase'),
  );
  // The kept totals are exact: the same as the rows summed.
  const [sums] = (await db.query('SELECT phase, COUNT(*) AS n FROM state GROUP BY phase')) as unknown as [{ phase: number; n: number }[]];
  for (const r of sums) {
    const kept = Object.values(last!.phases)[Number(r.phase)].subfolders;
    if (kept !== Number(r.n)) throw new Error(`phase ${r.phase}: status says ${kept} subfolders, the rows ${r.n}`);
  }
  const phases = Object.entries(last!.phases).map(([k, v]) => `${k} ${v.subfolders}`).join(', ');
  process.stdout.write(`seeded ${N} rows in ${seedS.toFixed(1)} s; ${phases}; claims ${JSON.stringify(last!.claims.syncCheck.live)} live ${last!.claims.syncCheck.stale} stale\n`);
  writeResults('status', [
    `- status on ${N.toLocaleString('en-US')} subfolders (phases, totals, claims, recent errors): ${rateRatio(oursMs, bareMs)} of a bare SELECT COUNT(*) ` +
      `(ours ${oursMs.toFixed(0)} ms, target < 2 s ${oursMs < 2000 ? 'met' : 'MISSED'}, bare ${bareMs.toFixed(0)} ms; the per-phase sums over every row, as status did before sql/015, ${rowsMs.toFixed(0)} ms; ` +
      `the table's first status, which recounts them once, ${firstMs.toFixed(0)} ms; seeded in ${seedS.toFixed(0)} s) -- \`npx tsx bench/status.bench.ts\``,
  ], { print: N !== 10_000_000 });
  await db.end();
} finally {
  await stack.stop();
}
