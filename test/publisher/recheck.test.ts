// publishDirList --purpose syncCheck --recheck against the real stack: which already-checked subfolders
// are published again, once per run (also with several publishers at once and a worker giving a row
// back), and the dry run.
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { run } from '../../src/publisher/publishDirList.js';
import { claimForPublish } from '../../src/state/publish.js';
import { startRecheck } from '../../src/state/publishable.js';
import { decodeMessage, dirMessageSchema } from '../../src/common/messages.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { collect, freshTopic, pubsubClient, type Received } from './pubsub.js';
import { seedRows } from './seed.js';
import { waitForDb } from '../helpers/wait.js';

const ps = pubsubClient();
const PUBLISHED = { initial_transfer: false, cdn_transfer_published: true };
const INSTANT = new Date('2026-03-01T00:00:00Z');
const BEFORE = new Date('2026-01-01T00:00:00Z');
const AFTER = new Date('2026-06-01T00:00:00Z');
const EQUAL = { sync_check_frequency: 1, s3_size: 5, gcs_size: 5, s3_objects: 2, gcs_objects: 2 };
/** As the syncCheck worker leaves a row: its published flag stays TRUE, the message consumed. */
const checked = (at: Date): Record<string, unknown> => ({ ...PUBLISHED, ...EQUAL, sync_check_published: true, sync_check_last_start: at, sync_check_last_end: at });
const FAR = new Date(Date.now() + 3_600_000); // a live lease

/** Rows around INSTANT, and whether `--recheck --recheck-before INSTANT` publishes each. */
const STATES: Array<[string, Record<string, unknown>, boolean?]> = [
  ['data/checked-before/', checked(BEFORE), true],
  ['data/checked-before-2/', { ...checked(BEFORE), sync_check_published_at: BEFORE }, true],
  ['data/checked-before-mismatched/', { ...checked(BEFORE), gcs_size: 4 }, true],
  ['data/checked-after/', checked(AFTER), false],
  // Ended in the instant's own second (DATETIME has whole seconds): it may have ended before it, so it is due.
  ['data/checked-at-instant/', checked(INSTANT), true],
  ['data/check-in-progress/', { ...checked(BEFORE), sync_check_in_progress: true, sync_check_owner: 'w', sync_check_lease_until: FAR }, false],
  ['data/check-lease-expired/', { ...checked(BEFORE), sync_check_in_progress: true, sync_check_owner: 'w', sync_check_lease_until: BEFORE }, true],
  ['data/rsync-in-progress/', { ...checked(BEFORE), rsync_in_progress: true, rsync_owner: 'w', rsync_lease_until: FAR }, false],
  // Published for a check that no worker has claimed yet: its message is still queued.
  ['data/check-queued/', { ...checked(BEFORE), sync_check_published_at: new Date('2026-02-01T00:00:00Z') }, false],
  // Given back by a worker (busy) after an earlier run published it: published again.
  ['data/given-back/', { ...checked(BEFORE), sync_check_published: false, sync_check_published_at: new Date('2026-02-01T00:00:00Z') }, true],
  ['data/never-transferred/', { sync_check_last_start: BEFORE, sync_check_last_end: BEFORE }, false],
  ['data/another-publisher-holds/', { ...checked(BEFORE), sync_check_publish_owner: 'p', sync_check_publish_lease_until: FAR }, false],
  // Due by the usual criteria anyway: a --recheck run takes those too.
  ['data/never-checked/', { ...PUBLISHED }, true],
  // Due both ways (checked on every pass, given back): one message, and a dry run lists it once.
  ['data/always-checked-given-back/', { ...checked(BEFORE), sync_check_frequency: 0, sync_check_published: false }, true],
];
const DUE = STATES.filter((s) => s[2]).map((s) => s[0]).sort();

async function setup(states: Array<[string, Record<string, unknown>, boolean?]> = STATES): Promise<TestCtx & { subscriptionId: string }> {
  const { topicId, subscriptionId } = await freshTopic(ps, 'recheck');
  const ctx = await testContext('publishDirList', { pubsub_topic_id: topicId });
  for (const [dirKey, set] of states) await seedRows(ctx.db, [dirKey], set);
  return Object.assign(ctx, { subscriptionId });
}

function dirKeys(got: Received[]): string[] {
  return got
    .map((m) => {
      const d = decodeMessage(dirMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      expect(d.message.purpose).toBe('syncCheck');
      return d.message.dir_key;
    })
    .sort();
}

async function flagged(ctx: TestCtx): Promise<string[]> {
  const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key FROM transfer_state WHERE sync_check_published = TRUE ORDER BY dir_key');
  return rows.map((r) => r.dir_key as string);
}

describe('publishDirList --purpose syncCheck --recheck', () => {
  it('publishes the subfolders checked before --recheck-before, once, and flags them with their publish time', async () => {
    const ctx = await setup();
    const s = await run(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: INSTANT });
    expect(s).toMatchObject({ subfolders_published: DUE.length, subfolders_failed: 0, recheck_before: INSTANT.toISOString() });
    expect(dirKeys(await collect(ps, ctx.subscriptionId, { minCount: DUE.length }))).toEqual(DUE);
    const [rows] = await ctx.db.query<RowDataPacket[]>(
      'SELECT dir_key, sync_check_published AS p, sync_check_published_at >= UTC_TIMESTAMP() - INTERVAL 1 MINUTE AS recent, sync_check_last_end AS e FROM transfer_state WHERE dir_key IN (?)',
      [DUE],
    );
    expect(rows.every((r) => r.p === 1 && r.recent === 1)).toBe(true);
    // Their check is still to come (sync_check_last_end unchanged), yet the next run leaves them alone.
    expect(rows.find((r) => r.dir_key === 'data/checked-before/')!.e).toEqual(BEFORE);
    expect(await run(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: INSTANT })).toMatchObject({ subfolders_published: 0 });
    // Untouched: the rows not due keep their flags.
    expect(await flagged(ctx)).toEqual(STATES.filter(([k, set]) => DUE.includes(k) || set.sync_check_published === true).map((x) => x[0]).sort());
    await ctx.db.end();
  });

  it('without --recheck-before: everything checked before the run started; without --recheck: none of them', async () => {
    const ctx = await setup();
    const usual = ['data/always-checked-given-back/', 'data/never-checked/']; // due without --recheck
    expect(await run(ctx, { purpose: 'syncCheck' })).toMatchObject({ subfolders_published: usual.length });
    expect(dirKeys(await collect(ps, ctx.subscriptionId, { minCount: usual.length }))).toEqual(usual);
    const s = await run(ctx, { purpose: 'syncCheck', recheck: true });
    // checked-after (June 2026) is before this run too; the usual ones were just published and are queued.
    const expected = [...DUE.filter((k) => !usual.includes(k)), 'data/checked-after/'].sort();
    expect(s.subfolders_published).toBe(expected.length);
    expect(new Date(s.recheck_before!).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(dirKeys(await collect(ps, ctx.subscriptionId, { minCount: expected.length }))).toEqual(expected);
    await ctx.db.end();
  });

  it('once per run: a row a worker gives back is not claimable again by the run that published it, only by the next run', async () => {
    const ctx = await setup([['data/a/', checked(BEFORE)], ['data/b/', checked(BEFORE)]]);
    const s = await run(ctx, { purpose: 'syncCheck', recheck: true });
    expect(s).toMatchObject({ subfolders_published: 2, subfolders_failed: 0 });
    expect(dirKeys(await collect(ps, ctx.subscriptionId, { minCount: 2 }))).toEqual(['data/a/', 'data/b/']);
    // The worker found it busy and cleared its flag (src/state/work.ts unpublishDir); its last check is still old.
    await ctx.db.query("UPDATE transfer_state SET sync_check_published = FALSE WHERE dir_key = 'data/a/'");
    // The claim that run makes (its start is the default instant): nothing, because it published the row.
    const runStart = new Date(s.recheck_before!);
    expect(await claimForPublish({ db: ctx.db, table: 'transfer_state', owner: 'same-run', leaseSeconds: 60 }, 'syncCheck', 10, { before: runStart, runStart })).toEqual({ seen: 0, rows: [] });
    // The next run must start in a later second than the publish (whole-second stamps) to take the row.
    await waitForDb(ctx.db, 'the database clock to pass the publish', "SELECT sync_check_published_at < UTC_TIMESTAMP() AS ok FROM transfer_state WHERE dir_key = 'data/a/'");
    expect(await run(ctx, { purpose: 'syncCheck', recheck: true })).toMatchObject({ subfolders_published: 1 });
    expect(dirKeys(await collect(ps, ctx.subscriptionId, { minCount: 1 }))).toEqual(['data/a/']);
    await ctx.db.end();
  });

  it('a publisher that died holding a recheck claim: the row is taken over after its lease and published once', async () => {
    const ctx = await setup([['data/a/', checked(BEFORE)]]);
    const recheck = await startRecheck(ctx.db, INSTANT);
    // The dead publisher's claim: the row is in hand (flag off, its lease), nothing was published.
    expect(await claimForPublish({ db: ctx.db, table: 'transfer_state', owner: 'dead-publisher', leaseSeconds: 1 }, 'syncCheck', 10, recheck)).toMatchObject({ seen: 1, rows: [{ dirKey: 'data/a/' }] });
    expect(await run(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: INSTANT })).toMatchObject({ subfolders_published: 0 });
    await waitForDb(ctx.db, "the dead publisher's lease to end", "SELECT sync_check_publish_lease_until < UTC_TIMESTAMP() AS ok FROM transfer_state WHERE dir_key = 'data/a/'");
    expect(await run(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: INSTANT })).toMatchObject({ subfolders_published: 1 });
    expect(dirKeys(await collect(ps, ctx.subscriptionId, { minCount: 1 }))).toEqual(['data/a/']);
    const [[row]] = await ctx.db.query<RowDataPacket[]>("SELECT sync_check_published AS p, sync_check_publish_owner AS o FROM transfer_state WHERE dir_key = 'data/a/'");
    expect(row).toEqual({ p: 1, o: ctx.workerId });
    await ctx.db.end();
  });

  it('three publishers at once: every due row published exactly once', async () => {
    const dirs = Array.from({ length: 150 }, (_, i) => `data/r${String(i).padStart(3, '0')}/`);
    const { topicId, subscriptionId } = await freshTopic(ps, 'recheckconc');
    const first = await testContext('publishDirList', { pubsub_topic_id: topicId });
    const ctxs = [first, ...(await Promise.all([1, 2].map(() => testContext('publishDirList', { pubsub_topic_id: topicId }, { mysql: first.secrets.mysql_config }))))];
    await seedRows(first.db, dirs, checked(BEFORE));
    await seedRows(first.db, ['data/late/'], checked(AFTER));
    const summaries = await Promise.all(ctxs.map((c) => run(c, { purpose: 'syncCheck', recheck: true, recheckBefore: INSTANT })));
    expect(summaries.reduce((n, s) => n + s.subfolders_published, 0)).toBe(dirs.length);
    expect(summaries.reduce((n, s) => n + s.subfolders_failed + s.subfolders_lease_lost, 0)).toBe(0);
    expect(dirKeys(await collect(ps, subscriptionId, { minCount: dirs.length }))).toEqual(dirs); // no duplicates
    expect(await flagged(first)).toEqual([...dirs, 'data/late/'].sort());
    for (const c of ctxs) await c.db.end();
  });

  it('dry run lists the due rows and publishes, claims and flags nothing', async () => {
    const ctx = await setup();
    const [before] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY id');
    const s = await run(ctx, { purpose: 'syncCheck', recheck: true, recheckBefore: INSTANT, dryRun: true });
    expect(s).toMatchObject({ dry_run: true, subfolders_published: DUE.length });
    const [after] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state ORDER BY id');
    expect(after).toEqual(before);
    expect(await collect(ps, ctx.subscriptionId, { quietMs: 1000 })).toEqual([]);
    const logged = ctx.logs.map((l) => JSON.parse(l)).filter((l) => l.message.includes('would publish'));
    expect(logged.map((l) => l.dir_key).sort()).toEqual(DUE);
    await ctx.db.end();
  });

  it('refuses --recheck with --purpose rsync, and --recheck-before without --recheck', async () => {
    const ctx = await setup([]);
    await expect(run(ctx, { purpose: 'rsync', recheck: true })).rejects.toThrow(/--recheck applies to --purpose syncCheck only, got --purpose rsync/);
    await expect(run(ctx, { purpose: 'syncCheck', recheckBefore: INSTANT })).rejects.toThrow(/--recheck-before needs --recheck/);
    await ctx.db.end();
  });
});
