// The failed-object ledger and the throughput history (issue 17, parts 0 and 1), on the real stack: a
// permanent failure (an archived object, a key S3 does not have) lands in the ledger with its reason class,
// `ott retry --failed` publishes it again once the cause is fixed, and the copy that verifies it resolves
// it. The workers' per-minute history holds what they did, rolls up per hour after a day, and status reads
// its rates and ETA. The copies themselves are judged by compareCopies (independent of src/).
import { beforeAll, describe, expect, it } from 'vitest';
import { RestoreObjectCommand } from '@aws-sdk/client-s3';
import type { RowDataPacket } from 'mysql2';
import { run as cdnTransfer } from '../../src/worker/cdnTransfer.js';
import { run as retryFailed } from '../../src/ops/retry.js';
import { run as statusFailed } from '../../src/ops/failed.js';
import { queryStatus, renderStatus } from '../../src/ops/status.js';
import { addMessageCounts } from '../../src/state/counters.js';
import { rollUpHistory } from '../../src/state/history.js';
import { pruneResolved, type LedgerFailure } from '../../src/state/ledger.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addDirRow, bytesFor, createWorld, drain, publish, putObject, s3, worldContext, type World } from './cdnTransferHarness.js';
import type { ObjectEntry } from '../../src/common/messages.js';

const exec = promisify(execFile);
const tunables = { singleRequestMaxBytes: 1024 * 1024, chunkBytes: 256 * 1024, optimisticMaxBytes: 64 * 1024 };
let w: World;
beforeAll(async () => {
  w = await createWorld('ledger', { heartbeat_seconds: 0.5, gcs_ramp_enabled: false });
});

const zero = { copied_objects: 0, copied_bytes: 0, skipped_objects: 0, failed_objects: 0, size_only_objects: 0 };
const ledgerRows = async (ctx: { db: { query: (sql: string) => Promise<unknown> } }): Promise<Record<string, RowDataPacket>> => {
  const [rows] = (await ctx.db.query('SELECT object_key, dir_key, reason_class, message, attempts, failures, retries, first_failed_at, last_failed_at, resolved_at FROM failed_objects')) as unknown as [RowDataPacket[]];
  return Object.fromEntries(rows.map((r) => [r.object_key as string, r]));
};

describe('the failed-object ledger', () => {
  it('records permanent failures with their reason, and a retry that verifies them resolves them', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/ledger/';
    await addDirRow(ctx, dir);
    const good = await putObject(w, `${dir}good.txt`, 2000);
    const archived = await putObject(w, `${dir}cold.txt`, 3000, { StorageClass: 'GLACIER' });
    // Not in S3 yet; listed as it will be once put (its single-part ETag is the MD5 of its bytes).
    const lateKey = `${dir}late <b>.txt`;
    const missing: ObjectEntry = { key: lateKey, size: 1500, etag: `"${createHash('md5').update(bytesFor(lateKey, 1500)).digest('hex')}"`, last_modified: new Date().toISOString() };
    await publish(w, dir, [good, archived, missing]);
    // `ott retry` is a process of its own (its publishing client is not the worker's), on the same database.
    const retryCtx = await worldContext(w, {}, ctx);
    const retry = (args: { reason?: string }): ReturnType<typeof retryFailed> => retryFailed(retryCtx, args);
    const first = await cdnTransfer(ctx, { exitWhenIdleMs: 1500, tunables });
    expect(first).toMatchObject({ copied: 1, failed: 2, acked: 1 });
    await drain(w.errorSub, 2);

    let rows = await ledgerRows(ctx);
    expect(Object.keys(rows).sort()).toEqual([archived.key, missing.key].sort());
    expect(rows[archived.key]).toMatchObject({ dir_key: dir, reason_class: 'archived', failures: 1, retries: 0, resolved_at: null });
    expect(rows[archived.key].message).toMatch(/InvalidObjectState/);
    expect(rows[missing.key]).toMatchObject({ reason_class: 'not-found', attempts: 1, resolved_at: null });

    // `ott status --failed`, all and by reason
    const out: string[] = [];
    const listed = await statusFailed(ctx, { write: (t) => out.push(t) });
    expect(listed.openByReason).toEqual({ archived: 1, 'not-found': 1 });
    expect(out.join('')).toContain(`archived`);
    expect(out.join('')).toContain(missing.key);
    const onlyArchived = await statusFailed(ctx, { reason: 'archived', json: true, write: () => undefined });
    expect(onlyArchived.entries.map((e) => e.key)).toEqual([archived.key]);

    // Fix only the archived one and retry only that class, through the real CLI: the other stays open, untouched.
    await s3.send(new RestoreObjectCommand({ Bucket: w.s3Bucket, Key: archived.key, RestoreRequest: { Days: 1 } }));
    const tmp = mkdtempSync(join(tmpdir(), 'ott-ledger-'));
    writeFileSync(join(tmp, 'creds.json'), JSON.stringify({ mysql_config: ctx.secrets.mysql_config }));
    writeFileSync(join(tmp, 'cfg.json'), JSON.stringify({ ...w.config, mysql_table: 'transfer_state', credentials_file: join(tmp, 'creds.json') }));
    const ott = (...args: string[]): Promise<{ stdout: string }> => exec(process.execPath, [join(process.cwd(), 'bin/ott.mjs'), '--config', join(tmp, 'cfg.json'), ...args]);
    expect(renderStatus(await queryStatus(ctx.db, 'transfer_state'))).toContain('failed objects not resolved since: 2 (archived 1, not-found 1)');
    const cliFailed = JSON.parse((await ott('status', '--failed', '--reason', 'not-found', '--json')).stdout);
    expect(cliFailed.openByReason).toEqual({ archived: 1, 'not-found': 1 });
    expect(cliFailed.entries).toMatchObject([{ key: missing.key, reasonClass: 'not-found', attempts: 1, entry: { key: missing.key, size: 1500, etag: missing.etag } }]);
    const cliRetry = (await ott('retry', '--failed', '--reason', 'archived')).stdout.split('\n').find((l) => l.includes('"retry finished"'));
    expect(JSON.parse(cliRetry!).summary).toMatchObject({ objects: 1, messages: 1, marked: 1 });
    await cdnTransfer(ctx, { exitWhenIdleMs: 1500, tunables });
    rows = await ledgerRows(ctx);
    expect(rows[archived.key].resolved_at).toBeInstanceOf(Date);
    expect(rows[archived.key].retries).toBe(1);
    expect(rows[missing.key]).toMatchObject({ resolved_at: null, retries: 0 });

    // A retry of a key still failing leaves it open with its attempts and failures summed.
    const r2 = await retry({});
    expect(r2).toMatchObject({ objects: 1, marked: 1 });
    await cdnTransfer(ctx, { exitWhenIdleMs: 1500, tunables });
    await drain(w.errorSub, 1);
    rows = await ledgerRows(ctx);
    expect(rows[missing.key]).toMatchObject({ resolved_at: null, failures: 2, attempts: 2, retries: 1 });
    expect(rows[missing.key].last_failed_at.getTime()).toBeGreaterThanOrEqual(rows[missing.key].first_failed_at.getTime());

    // The cause fixed (the object now in S3 as listed), the retry verifies it: resolved, nothing open.
    expect((await putObject(w, missing.key, 1500)).etag).toBe(missing.etag);
    expect(await retry({ reason: 'not-found' })).toMatchObject({ objects: 1, marked: 1 });
    await cdnTransfer(ctx, { exitWhenIdleMs: 1500, tunables });
    rows = await ledgerRows(ctx);
    expect(rows[missing.key].resolved_at).toBeInstanceOf(Date);
    expect((await statusFailed(ctx, { write: () => undefined })).openByReason).toEqual({});
    expect(await retry({})).toMatchObject({ objects: 0, messages: 0 });

    const judged = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: dir, gcsBucket: w.gcsBucket, gcsPrefix: 'copy/ledger/' });
    expect(judged).toMatchObject({ objects: 3, missing: [], different: [], extra: [] });

    // The history: this file's worker runs, per minute, with what they did; status reads rates from it.
    const [hist] = (await ctx.db.query(
      'SELECT SUM(copied_objects) AS copied, SUM(copied_bytes) AS bytes, SUM(failed_objects) AS failed, SUM(archived_objects) AS archived, COUNT(DISTINCT worker_id) AS workers FROM throughput_history WHERE span_seconds = 60',
    )) as unknown as [RowDataPacket[]];
    expect(hist[0]).toMatchObject({ copied: '3', bytes: String(2000 + 3000 + 1500), failed: '3', archived: '1', workers: 1 });
    const st = await queryStatus(ctx.db, 'transfer_state');
    const cdn = st.throughput.byMode.find((m) => m.mode === 'cdnTransfer')!;
    expect(cdn).toMatchObject({ copiedObjects: 3, copiedBytes: 6500, failedObjects: 3, archivedObjects: 1 });
    expect(cdn.objectsPerSecond).toBeGreaterThan(0);
    expect(st.throughput.byWorker).toMatchObject([{ workerId: ctx.workerId, mode: 'cdnTransfer', copiedObjects: 3 }]);
    expect(renderStatus(st)).toMatch(/cdnTransfer: [\d.]+ objects\/s, [\d.]+ MiB\/s copied/);
    await retryCtx.db.end();
    await ctx.db.end();
  });

  it('orders a batch: failed then verified is resolved, verified then failed stays open; pruning keeps open entries', async () => {
    const ctx = await worldContext(w);
    await addDirRow(ctx, 'data/b/');
    const entry = (key: string): ObjectEntry => ({ key, size: 1, etag: '"e"', last_modified: new Date().toISOString() });
    const fail = (key: string): LedgerFailure => ({ entry: entry(key), dirKey: 'data/b/', mode: 'cdnTransfer', reasonClass: 'unavailable', message: 'HTTP 503', attempts: 5, failures: 1 });
    const r = await addMessageCounts(ctx.db, 'transfer_state', [
      { messageId: 'm1', dirKey: 'data/b/', counts: zero, verified: ['data/b/late-fail'] },
      { messageId: 'm2', dirKey: 'data/b/', counts: zero, failures: [fail('data/b/late-fail'), fail('data/b/fixed')] },
      { messageId: 'm3', dirKey: 'data/b/', counts: zero, failures: [fail('data/b/fixed')] },
      { messageId: 'm4', dirKey: 'data/b/', counts: zero, verified: ['data/b/fixed', 'data/b/never-failed'] },
    ]);
    expect(r.resolved).toBe(1);
    const rows = await ledgerRows(ctx);
    expect(Object.keys(rows).sort()).toEqual(['data/b/fixed', 'data/b/late-fail']);
    expect(rows['data/b/fixed']).toMatchObject({ failures: 2, attempts: 10 });
    expect(rows['data/b/fixed'].resolved_at).toBeInstanceOf(Date);
    expect(rows['data/b/late-fail'].resolved_at).toBeNull();
    // A redelivered message (same id) adds nothing to the ledger either.
    await addMessageCounts(ctx.db, 'transfer_state', [{ messageId: 'm3', dirKey: 'data/b/', counts: zero, failures: [fail('data/b/fixed')] }]);
    expect((await ledgerRows(ctx))['data/b/fixed'].resolved_at).toBeInstanceOf(Date);

    // Bounded: past the cap the oldest resolved entries go, open ones never (even past the cap).
    await addMessageCounts(ctx.db, 'transfer_state', [
      { messageId: 'm5', dirKey: 'data/b/', counts: zero, failures: ['r1', 'r2', 'r3', 'o1', 'o2'].map((k) => fail(`data/b/${k}`)) },
    ]);
    for (const [i, k] of ['r2', 'fixed', 'r1', 'r3'].entries()) {
      await ctx.db.query(`UPDATE failed_objects SET resolved_at = UTC_TIMESTAMP(6) - INTERVAL ${10 - i} MINUTE WHERE object_key = ?`, [`data/b/${k}`]);
    }
    expect(await pruneResolved(ctx.db, 'transfer_state', 5, 100)).toBe(2); // 7 rows, cap 5: r2 and fixed, the oldest resolved
    expect(Object.keys(await ledgerRows(ctx)).sort()).toEqual(['data/b/late-fail', 'data/b/o1', 'data/b/o2', 'data/b/r1', 'data/b/r3']);
    expect(await pruneResolved(ctx.db, 'transfer_state', 1, 100)).toBe(2); // only resolved ones can go
    expect(Object.keys(await ledgerRows(ctx)).sort()).toEqual(['data/b/late-fail', 'data/b/o1', 'data/b/o2']);
    await ctx.db.end();
  });
});

describe('the throughput history', () => {
  it('rolls minute samples older than a day up per hour, adding to an hour already rolled, and keeps the last day', async () => {
    const ctx = await worldContext(w);
    const ins = (spanSeconds: number, ago: string, worker: string, copied: number, bytes: number): Promise<unknown> =>
      ctx.db.query(
        `INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes, failed_objects)
         VALUES ('transfer_state', ?, DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL ${ago}, '%Y-%m-%d %H:%i:00'), 'cdnTransfer', ?, 'h', ?, ?, 1)`,
        [spanSeconds, worker, copied, bytes],
      );
    // Two days ago, one hour: three minutes of w1 (one hour row of it already there), one of w2.
    const hour = "DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL 2 DAY, '%Y-%m-%d %H:00:00')";
    for (const m of [1, 2, 3]) await ctx.db.query(`INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes) VALUES ('transfer_state', 60, ${hour} + INTERVAL ${m} MINUTE, 'cdnTransfer', 'w1', 'h', 10, 1000)`);
    await ctx.db.query(`INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes) VALUES ('transfer_state', 60, ${hour} + INTERVAL 5 MINUTE, 'cdnTransfer', 'w2', 'h', 7, 700)`);
    await ctx.db.query(`INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes) VALUES ('transfer_state', 3600, ${hour}, 'cdnTransfer', 'w1', 'h', 100, 10000)`);
    // Within the last day: kept per minute.
    await ins(60, '2 HOUR', 'w1', 5, 500);
    await ins(60, '2 MINUTE', 'w1', 6, 600);
    expect(await rollUpHistory(ctx.db, 'transfer_state')).toBe(4);
    const [rows] = (await ctx.db.query('SELECT span_seconds, worker_id, copied_objects, copied_bytes FROM throughput_history ORDER BY span_seconds, bucket_at, worker_id')) as unknown as [RowDataPacket[]];
    expect(rows.map((r) => [r.span_seconds, r.worker_id, Number(r.copied_objects), Number(r.copied_bytes)])).toEqual([
      [60, 'w1', 5, 500],
      [60, 'w1', 6, 600],
      [3600, 'w1', 130, 13000],
      [3600, 'w2', 7, 700],
    ]);
    expect(await rollUpHistory(ctx.db, 'transfer_state')).toBe(0);
    // Status: the last hour holds only the 2-minute-old sample (6 objects over at least a minute).
    const st = await queryStatus(ctx.db, 'transfer_state');
    expect(st.throughput.byMode).toMatchObject([{ mode: 'cdnTransfer', copiedObjects: 6, copiedBytes: 600 }]);
    expect(st.throughput.byMode[0].seconds).toBeGreaterThanOrEqual(60);
    expect(st.throughput.byMode[0].seconds).toBeLessThanOrEqual(240);
    await ctx.db.end();
  });
});
