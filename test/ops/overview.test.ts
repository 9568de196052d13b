// readOverview on a seeded table (MariaDB only): its status is status's, its history series hold what the
// throughput history says per minute and per hour (rolled-up hours and minutes not rolled up yet alike,
// zero-filled, the current minute over its elapsed seconds), and the ledger's newest reasons and worst
// subfolders come back, keys as they are (escaping is the page's job).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { testContext, type TestCtx } from '../helpers/context.js';
import { readOverview, toSeries } from '../../src/ops/overview.js';
import { queryStatus } from '../../src/ops/status.js';
import { recordFailures, type LedgerFailure } from '../../src/state/ledger.js';
import { noActivity } from '../../src/state/history.js';

let ctx: TestCtx;
const T = 'transfer_state';
const HOSTILE = 'd/x/<script>alert(1)</script><img src=x onerror=alert(2)>.bin';

function failure(key: string, dirKey: string, reasonClass: string, message: string): LedgerFailure {
  return { entry: { key, size: 1, etag: '"e"', last_modified: '2026-01-01T00:00:00Z' }, dirKey, mode: 'cdnTransfer', reasonClass, message, attempts: 1, failures: 1 };
}

/** A history row `minutesAgo` minutes before the database's current minute. */
async function sample(span: 60 | 3600, minutesAgo: number, mode: string, worker: string, copied: number, bytes: number, failed = 0): Promise<void> {
  const at = span === 60
    ? `DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL ${minutesAgo} MINUTE, '%Y-%m-%d %H:%i:00')`
    : `DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL ${minutesAgo} MINUTE, '%Y-%m-%d %H:00:00')`;
  await ctx.db.query(
    `INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes, failed_objects) VALUES (?, ?, ${at}, ?, ?, 'h', ?, ?, ?)`,
    [T, span, mode, worker, copied, bytes, failed],
  );
}

beforeAll(async () => {
  ctx = await testContext('overview', { pubsub_subscription_id: 'unused' });
  await ctx.db.query(`INSERT INTO ${T} (dir_key, dir_key_sha, rsync_error, rsync_published) VALUES ('d/failed/', UNHEX(SHA2('d/failed/', 256)), 'gcloud exited 1', 1)`);
  // Minutes: two workers in one minute (summed), a gap, one in another; a day-old hour row.
  await sample(60, 5, 'cdnTransfer', 'w1', 60, 60 * 1048576);
  await sample(60, 5, 'cdnTransfer', 'w2', 120, 0, 2);
  await sample(60, 2, 'cdnTransfer', 'w1', 30, 0);
  await sample(60, 2, 'rsync', 'w3', 6, 0);
  await sample(3600, 26 * 60, 'cdnTransfer', 'w1', 3600, 0);
  await recordFailures(ctx.db, T, [
    failure(HOSTILE, 'd/x/', 'corrupt', 'hashes differ'),
    failure('d/x/b', 'd/x/', 'not-found', 'HTTP 404'),
    failure('d/y/c', 'd/y/', 'not-found', 'HTTP 404 again'),
  ]);
});

afterAll(async () => {
  await ctx.db.end();
});

describe('readOverview', () => {
  it('holds status, the history as series and the ledger reads', async () => {
    const [o, s] = await Promise.all([readOverview(ctx.db, T), queryStatus(ctx.db, T)]);
    expect({ ...o.status, queryMs: 0, throughput: { ...o.status.throughput, byMode: [], byWorker: [] } }).toEqual({ ...s, queryMs: 0, throughput: { ...s.throughput, byMode: [], byWorker: [] } });
    expect(o.status.throughput.byMode.map((r) => r.mode)).toEqual(['cdnTransfer', 'rsync']);
    expect(o.status.failedObjects).toEqual({ corrupt: 1, 'not-found': 2 });

    const m = o.history.minutes;
    expect(m.spanSeconds).toBe(60);
    // From the first sample (5 min ago) to the current minute: 6 buckets (7 if the minute turned since
    // seeding), zero-filled between.
    expect(m.t.length).toBeGreaterThanOrEqual(6);
    const pad = new Array<number>(m.t.length - 4).fill(0);
    expect(m.t[1] - m.t[0]).toBe(60);
    expect(m.modes.cdnTransfer.copiedObjects).toEqual([180, 0, 0, 30, ...pad]);
    expect(m.modes.cdnTransfer.objectsPerSecond[0]).toBe(3);
    expect(m.modes.cdnTransfer.mibPerSecond[0]).toBe(1);
    expect(m.modes.cdnTransfer.failedObjects[0]).toBe(2);
    expect(m.modes.rsync.copiedObjects).toEqual([0, 0, 0, 6, ...pad]);

    // Hours: the rolled-up hour a day ago, and this hour (or the last, near a boundary) from minute rows.
    const h = o.history.hours;
    expect(h.spanSeconds).toBe(3600);
    expect(h.modes.cdnTransfer.copiedObjects[0]).toBe(3600);
    expect(h.modes.cdnTransfer.copiedObjects.reduce((a, b) => a + b, 0)).toBe(3600 + 180 + 30);
    expect(h.t.length).toBeGreaterThanOrEqual(26);

    expect(o.failures.topDirs).toEqual([{ dirKey: 'd/x/', open: 2 }, { dirKey: 'd/y/', open: 1 }]);
    expect(o.failures.topDirsExact).toBe(true);
    expect(o.failures.newest.map((e) => e.key).sort()).toEqual([HOSTILE, 'd/x/b', 'd/y/c'].sort());
    expect(o.failures.newest.find((e) => e.key === HOSTILE)).toMatchObject({ reasonClass: 'corrupt', message: 'hashes differ', dirKey: 'd/x/' });
    expect(o.status.recentErrors).toEqual([expect.objectContaining({ dirKey: 'd/failed/', error: 'gcloud exited 1' })]);
    const [[now]] = await ctx.db.query<RowDataPacket[]>('SELECT UTC_TIMESTAMP() AS now');
    expect(Math.abs(new Date(o.generatedAt).getTime() - (now.now as Date).getTime())).toBeLessThan(5000);
    // Plain JSON: what the page gets is what was read.
    expect(JSON.parse(JSON.stringify(o)).failures.topDirs).toEqual(o.failures.topDirs);
  });

  it('caps the top-subfolders count at its scan and says it is a sample', async () => {
    const o = await readOverview(ctx.db, T, { topDirsScanRows: 2 });
    expect(o.failures.topDirsExact).toBe(false);
    expect(o.failures.topDirs.reduce((a, d) => a + d.open, 0)).toBe(2);
  });
});

describe('toSeries', () => {
  it('rates the current bucket over its elapsed seconds', () => {
    const at = new Date('2026-01-01T00:10:00Z');
    const s = toSeries(60, [{ ...noActivity(), at, mode: 'cdnTransfer', copiedObjects: 30 }], new Date('2026-01-01T00:10:15Z'));
    expect(s.t).toEqual([at.getTime() / 1000]);
    expect(s.modes.cdnTransfer.objectsPerSecond).toEqual([2]);
    expect(toSeries(60, [], at)).toEqual({ spanSeconds: 60, t: [], modes: {} });
  });
});
