// withClaim on the real database: every outcome and what it leaves on the row (recorded, failed with its
// reason, busy, unknown, lost to a takeover, released at shutdown), a failed renewal tried again rather
// than taken for a lost lease, and no listener left on the shutdown signal however many claims end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEventListeners } from 'node:events';
import type { RowDataPacket } from 'mysql2';
import { UNPUBLISH_AFTER_DELIVERIES, withClaim, type Finished } from '../../src/state/withClaim.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { waitFor } from '../helpers/wait.js';

const T = 'transfer_state';
const EQUAL: Finished = { measured: { s3Bytes: 10, gcsBytes: 10, s3Objects: 2, gcsObjects: 2 } };
let ctx: TestCtx;

beforeAll(async () => {
  ctx = await testContext('withClaim', { lease_seconds: 3 });
});
afterAll(async () => {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

async function addRows(keys: string[], published = true): Promise<void> {
  for (const k of keys) await ctx.db.query(`INSERT INTO ${T} (dir_key, dir_key_sha, sync_check_published) VALUES (?, UNHEX(SHA2(?, 256)), ?)`, [k, k, published]);
}

async function row(key: string): Promise<RowDataPacket> {
  const [[r]] = await ctx.db.query<RowDataPacket[]>(`SELECT * FROM ${T} WHERE dir_key = ?`, [key]);
  return r;
}

/** Resolves with the signal's reason once it aborts: a work that runs until it is stopped. */
const untilAborted = (signal: AbortSignal): Promise<never> => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

const abortListeners = (c: TestCtx): number => getEventListeners(c.signal, 'abort').length;

describe('withClaim outcomes', () => {
  it('records equal and mismatched measurements, and ends the claim', async () => {
    await addRows(['o/equal/', 'o/mismatched/']);
    expect(await withClaim(ctx, { mode: 'syncCheck', dirKey: 'o/equal/', work: async () => EQUAL })).toMatchObject({ outcome: 'equal' });
    const mismatched = { measured: { ...EQUAL.measured, gcsObjects: 1 } };
    expect(await withClaim(ctx, { mode: 'syncCheck', dirKey: 'o/mismatched/', work: async () => mismatched })).toMatchObject({ outcome: 'mismatched' });
    expect(await row('o/mismatched/')).toMatchObject({ s3_size: 10, gcs_objects: 1, sync_check_frequency: 1, sync_check_in_progress: 0, sync_check_owner: null, sync_check_error: null });
  });

  it('a thrown work is recorded as failed with its reason; a failed measurement keeps its sizes and its error', async () => {
    await addRows(['o/throws/', 'o/engine/']);
    const thrown = await withClaim(ctx, { mode: 'rsync', dirKey: 'o/throws/', work: async () => Promise.reject(new Error('S3 said no')) });
    expect(thrown).toEqual({ outcome: 'failed', reason: 'listing failed: S3 said no' });
    expect(await row('o/throws/')).toMatchObject({ rsync_error: 'listing failed: S3 said no', rsync_frequency: 1, rsync_in_progress: 0, s3_size: 0 });
    const failed = { ...EQUAL, failed: { error: 'engine exited 1', reason: 'cdn engine: engine exited 1' } };
    expect(await withClaim(ctx, { mode: 'rsync', dirKey: 'o/engine/', work: async () => failed })).toEqual({ outcome: 'failed', reason: 'cdn engine: engine exited 1' });
    expect(await row('o/engine/')).toMatchObject({ rsync_error: 'engine exited 1', s3_size: 10, rsync_frequency: 1, rsync_in_progress: 0 });
  });

  it('busy leaves the published flag alone (the message comes back later) without running the work; an unknown subfolder says so', async () => {
    await addRows(['o/busy/']);
    let ran = false;
    const work = async (): Promise<Finished> => {
      ran = true;
      return EQUAL;
    };
    const holding = withClaim(ctx, { mode: 'rsync', dirKey: 'o/busy/', work: async (c) => untilAborted(c.signal) });
    await waitFor('the rsync claim', async () => (await row('o/busy/')).rsync_in_progress === 1);
    // Flagged by its publisher: a first delivery defers, the flag stays.
    await ctx.db.query(`UPDATE ${T} SET sync_check_published = TRUE WHERE dir_key = 'o/busy/'`);
    expect(await withClaim(ctx, { mode: 'syncCheck', dirKey: 'o/busy/', work, deliveryAttempt: 1 })).toEqual({ outcome: 'busy' });
    expect(await row('o/busy/')).toMatchObject({ sync_check_published: 1, sync_check_in_progress: 0, rsync_owner: ctx.workerId });
    // Come back UNPUBLISH_AFTER_DELIVERIES times: handed back to the publisher (flag cleared), before a dead-letter policy takes it.
    expect(await withClaim(ctx, { mode: 'syncCheck', dirKey: 'o/busy/', work, deliveryAttempt: UNPUBLISH_AFTER_DELIVERIES })).toEqual({ outcome: 'requeued' });
    expect(await row('o/busy/')).toMatchObject({ sync_check_published: 0, sync_check_in_progress: 0 });
    // Not flagged (yet): the publisher flags after Pub/Sub took the message, so it is kept, however late.
    expect(await withClaim(ctx, { mode: 'syncCheck', dirKey: 'o/busy/', work, deliveryAttempt: 9 })).toEqual({ outcome: 'busy' });
    expect(await withClaim(ctx, { mode: 'syncCheck', dirKey: 'o/nowhere/', work })).toEqual({ outcome: 'unknown', reason: `subfolder o/nowhere/ is not in table ${T}: message dropped` });
    expect(ran).toBe(false);
    // End the holder: another worker takes the row over, and its renewal finds the lease lost.
    await ctx.db.query(`UPDATE ${T} SET rsync_owner = 'thief' WHERE dir_key = 'o/busy/'`);
    expect(await holding).toEqual({ outcome: 'lost' });
    expect(await row('o/busy/')).toMatchObject({ rsync_in_progress: 1, rsync_owner: 'thief', rsync_frequency: 0 });
  });

  it('a failed renewal is tried again at the next tick, not taken for a lost lease', async () => {
    await addRows(['o/renew/']);
    await ctx.db.query('CREATE TABLE fail_renewals (n INT)');
    await ctx.db.query('INSERT INTO fail_renewals VALUES (1)');
    await ctx.db.query(`CREATE TRIGGER fail_renewal BEFORE UPDATE ON ${T} FOR EACH ROW BEGIN
      IF OLD.dir_key = 'o/renew/' AND OLD.sync_check_in_progress AND NEW.sync_check_in_progress AND (SELECT COUNT(*) FROM fail_renewals) > 0
        THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'simulated renewal failure'; END IF;
    END`);
    const renewalFailed = (): boolean => ctx.logs.some((l) => l.includes('lease renewal failed for o/renew/'));
    const outcome = await withClaim(ctx, {
      mode: 'syncCheck',
      dirKey: 'o/renew/',
      work: async (c) => {
        const first = (await row('o/renew/')).sync_check_lease_until as Date;
        await waitFor('a renewal to fail', async () => renewalFailed());
        await ctx.db.query('DELETE FROM fail_renewals');
        await waitFor('a renewal to succeed', async () => ((await row('o/renew/')).sync_check_lease_until as Date) > first);
        expect(c.signal.aborted).toBe(false);
        return EQUAL;
      },
    });
    await ctx.db.query('DROP TRIGGER fail_renewal');
    expect(outcome).toMatchObject({ outcome: 'equal' });
    expect(await row('o/renew/')).toMatchObject({ sync_check_frequency: 1, sync_check_in_progress: 0 });
  });

  it('shutdown mid-work gives the row back untouched, to be published again', async () => {
    await addRows(['o/shutdown/']);
    const own = await testContext('withClaim', { lease_seconds: 3 }, { mysql: ctx.secrets.mysql_config, migrate: false });
    const working = withClaim(own, { mode: 'syncCheck', dirKey: 'o/shutdown/', work: async (c) => untilAborted(c.signal) });
    await waitFor('the claim', async () => (await row('o/shutdown/')).sync_check_in_progress === 1);
    own.abort();
    expect(await working).toEqual({ outcome: 'released' });
    expect(await row('o/shutdown/')).toMatchObject({ sync_check_in_progress: 0, sync_check_owner: null, sync_check_published: 0, sync_check_frequency: 0 });
    expect(abortListeners(own)).toBe(0);
    await Promise.allSettled([own.db.end(), own.clients.close()]);
  });
});

describe('withClaim and the shutdown signal', () => {
  it('leaves no listener on it after many claims end, whatever their outcome', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `l/${String(i).padStart(2, '0')}/`);
    await addRows([...keys, 'l/held/']);
    // Held by another worker for the whole test: every claim on it is busy.
    await ctx.db.query(`UPDATE ${T} SET rsync_in_progress = TRUE, rsync_owner = 'other', rsync_lease_until = UTC_TIMESTAMP() + INTERVAL 1 HOUR WHERE dir_key = 'l/held/'`);
    const before = abortListeners(ctx);
    let maxDuring = 0;
    const outcomes: Record<string, number> = {};
    // 400 claims, 10 at a time on distinct rows, each batch ending as equal, failed, busy and unknown.
    for (let i = 0; i < 400; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => {
        const n = i + j;
        const dirKey = j === 8 ? 'l/held/' : j === 9 ? 'l/absent/' : keys[n % 20];
        return withClaim(ctx, {
          mode: n % 2 ? 'syncCheck' : 'rsync',
          dirKey,
          work: async () => {
            maxDuring = Math.max(maxDuring, abortListeners(ctx));
            await new Promise((r) => setTimeout(r, 1));
            if (j === 7) throw new Error('listing broke');
            return EQUAL;
          },
        });
      });
      for (const r of await Promise.all(batch)) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    }
    expect(outcomes).toEqual({ equal: 280, failed: 40, busy: 40, unknown: 40 });
    expect(maxDuring).toBeGreaterThan(before); // each claim in flight listens...
    expect(abortListeners(ctx)).toBe(before); // ...and every one stopped listening when it ended
  });
});
