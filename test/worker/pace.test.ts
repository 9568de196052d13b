// The fleet's pace on the real stack: three cdnTransfer workers share one object-write rate that starts
// low and doubles on schedule (GCS's ramp, here in seconds instead of 20 minutes); a storm of 429s from
// GCS pauses the fleet and halves the rate, then the copy finishes with nothing lost. The rates are read
// from the GCS emulator's own timeCreated stamps, and the copies judged by compareCopies, not by the tool.
import { afterEach, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { Storage } from '@google-cloud/storage';
import { run } from '../../src/worker/cdnTransfer.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { waitFor } from '../helpers/wait.js';
import { addDirRow, createWorld, gcsEndpoint, publish, putObject, worldContext, type World } from './cdnTransferHarness.js';
import type { ObjectEntry } from '../../src/common/messages.js';
import type { TestCtx } from '../helpers/context.js';

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await clearFaults(gcsEndpoint(), w.gcsBucket);
});

async function seed(w: World, ctx: TestCtx, dir: string, count: number): Promise<void> {
  await addDirRow(ctx, dir);
  let batch: ObjectEntry[] = [];
  for (let i = 0; i < count; i++) {
    batch.push(await putObject(w, `${dir}obj-${String(i).padStart(4, '0')}`, 1024));
    if (batch.length === 20) {
      await publish(w, dir, batch);
      batch = [];
    }
  }
  if (batch.length) await publish(w, dir, batch);
}

/** When GCS created each object (ms), sorted: the emulator's stamps, not the tool's. */
async function createdTimes(w: World): Promise<number[]> {
  const storage = new Storage({ projectId: 'ott-local', apiEndpoint: gcsEndpoint() });
  const [files] = await storage.bucket(w.gcsBucket).getFiles({ autoPaginate: true });
  return files.map((f) => Date.parse(String(f.metadata.timeCreated))).sort((a, b) => a - b);
}

const inWindow = (times: number[], from: number, to: number): number => times.filter((t) => t >= from && t < to).length;

async function workers(ctx: TestCtx, n: number): Promise<TestCtx[]> {
  const out = [ctx];
  for (let i = 1; i < n; i++) out.push(await worldContext(worlds[worlds.length - 1], {}, ctx));
  return out;
}

describe('the fleet pace', () => {
  it('three workers hold the fleet rate, which doubles on schedule; every copy is intact', async () => {
    const START = 6;
    const DOUBLING_S = 10;
    const w = await createWorld('pace', { gcs_ramp_start_writes_per_second: START, gcs_ramp_doubling_seconds: DOUBLING_S, gcs_ramp_max_writes_per_second: 2 * START, heartbeat_seconds: 0.25, transfer_concurrency: 8 });
    worlds.push(w);
    const first = await worldContext(w);
    await seed(w, first, 'data/ramp/', 260);
    const ctxs = await workers(first, 3);
    const runs = ctxs.map((c) => run(c, { exitWhenIdleMs: 3000 }));
    // All three registered in the fleet while they work.
    await waitFor('three live workers', async () => {
      const [[r]] = await first.db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM workers WHERE mode = 'cdnTransfer' AND heartbeat_at > UTC_TIMESTAMP(6) - INTERVAL 2 SECOND");
      return Number(r.n) === 3;
    });
    const summaries = await Promise.all(runs);
    expect(summaries.reduce((s, x) => s + x.copied, 0)).toBe(260);
    const times = await createdTimes(w);
    expect(times).toHaveLength(260);
    const t0 = times[0];
    // Inside the first step (clear of its edges): START objects/s for the whole fleet, within 10%.
    const firstRate = inWindow(times, t0 + 1000, t0 + 9000) / 8;
    expect(firstRate).toBeGreaterThan(START * 0.9);
    expect(firstRate).toBeLessThan(START * 1.1);
    // After one doubling: 2 x START, within 10%, until the work runs out.
    const secondRate = inWindow(times, t0 + 12_000, t0 + 22_000) / 10;
    expect(secondRate).toBeGreaterThan(2 * START * 0.9);
    expect(secondRate).toBeLessThan(2 * START * 1.1);
    const [[pace]] = await first.db.query<RowDataPacket[]>('SELECT rate_now FROM fleet_pace WHERE state_table = ?', ['transfer_state']);
    expect(Number(pace.rate_now)).toBe(2 * START);
    const report = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/ramp/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/ramp/' });
    expect(report).toMatchObject({ objects: 260, missing: [], different: [], extra: [] });
    // Stopped workers leave the fleet.
    const [[left]] = await first.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM workers');
    expect(Number(left.n)).toBe(0);
    for (const c of ctxs) await c.db.end();
  });

  it('a storm of 429s from GCS pauses the whole fleet and halves its rate; the copy then finishes with nothing lost', async () => {
    const w = await createWorld('pace429', { gcs_ramp_start_writes_per_second: 10, gcs_ramp_doubling_seconds: 3, gcs_ramp_max_writes_per_second: 40, gcs_throttle_backoff_seconds: 2, heartbeat_seconds: 0.25, transfer_concurrency: 8, max_attempts: 8 });
    worlds.push(w);
    const first = await worldContext(w);
    await seed(w, first, 'data/storm/', 120);
    await addFaults(gcsEndpoint(), { match: { op: 'upload', bucket: w.gcsBucket }, after: 40, times: 12, action: { status: 429 } });
    const ctxs = await workers(first, 2);
    const summaries = await Promise.all(ctxs.map((c) => run(c, { exitWhenIdleMs: 3000 })));
    expect(summaries.reduce((s, x) => s + x.copied, 0)).toBe(120);
    expect(summaries.reduce((s, x) => s + x.failed, 0)).toBe(0);
    const [rule] = await listFaults(gcsEndpoint(), w.gcsBucket);
    expect(rule.remaining).toBe(0); // the storm happened
    const [[pace]] = await first.db.query<RowDataPacket[]>('SELECT throttles, rate_now FROM fleet_pace WHERE state_table = ?', ['transfer_state']);
    expect(Number(pace.throttles)).toBeGreaterThanOrEqual(1);
    expect(ctxs.some((c) => c.logs.some((l) => l.includes('GCS is throttling')))).toBe(true);
    // The pause shows in GCS's own clock: a gap of at least most of the 2 s backoff between writes.
    const times = await createdTimes(w);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(1500);
    // No write lands inside a pause, not even a resend of a throttled one (each waits for the pacer, not
    // only its backoff): from each pause's start (a worker's log line) the fleet has heard of it within a
    // heartbeat or two; writes already past the pacer may still land in the first 750 ms.
    const pauses = ctxs.flatMap((c) => c.logs.filter((l) => l.includes('GCS is throttling')).map((l) => Date.parse((JSON.parse(l) as { time: string }).time)));
    expect(pauses.length).toBeGreaterThanOrEqual(1);
    const inPauses = pauses.flatMap((p) => times.filter((t) => t >= p + 750 && t < p + 1950).map((t) => `${t - p} ms into the pause from ${new Date(p).toISOString()}`));
    expect(inPauses).toEqual([]);
    const report = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/storm/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/storm/' });
    expect(report).toMatchObject({ objects: 120, missing: [], different: [], extra: [] });
    for (const c of ctxs) await c.db.end();
  });

  it('max_objects_per_second caps one worker without a fleet ramp', async () => {
    const w = await createWorld('pacecap', { gcs_ramp_enabled: false, max_objects_per_second: 8, heartbeat_seconds: 0.25, transfer_concurrency: 8 });
    worlds.push(w);
    const ctx = await worldContext(w);
    await seed(w, ctx, 'data/cap/', 80);
    const s = await run(ctx, { exitWhenIdleMs: 2000 });
    expect(s.copied).toBe(80);
    const times = await createdTimes(w);
    const rate = inWindow(times, times[0] + 1000, times[0] + 8000) / 7;
    expect(rate).toBeGreaterThan(8 * 0.9);
    expect(rate).toBeLessThan(8 * 1.1);
    const [[pace]] = await ctx.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM fleet_pace');
    expect(Number(pace.n)).toBe(0); // no ramp, no fleet rate
    await ctx.db.end();
  });

  it('--bwlimit: a 12 MiB object at 3M is never read faster than the limit, and arrives intact', async () => {
    const w = await createWorld('bwlimit', { gcs_ramp_enabled: false });
    worlds.push(w);
    const ctx = await worldContext(w);
    await addDirRow(ctx, 'data/bw/');
    await publish(w, 'data/bw/', [await putObject(w, 'data/bw/big.bin', 12 * 1024 * 1024)]);
    const started = Date.now();
    const s = await run(ctx, { exitWhenIdleMs: 1000, bwlimit: '3M' });
    const seconds = (Date.now() - started - 1000) / 1000; // less the idle wait before exit
    expect(s.copied).toBe(1);
    // 12 MiB at 3 MiB/s is 4 s; the first 100 ms of budget may be banked. Load only makes it slower.
    expect(seconds).toBeGreaterThanOrEqual(3.6);
    expect(ctx.logs.some((l) => l.includes('"bwlimit":"3M"'))).toBe(true);
    const report = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/bw/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/bw/' });
    expect(report).toMatchObject({ objects: 1, missing: [], different: [], extra: [] });
    await ctx.db.end();
  });
});
