// syncCheck against the real stack (MariaDB, Pub/Sub, S3, GCS): sizes and counts with the publisher's
// filters, --deep, the Pub/Sub loop (busy, unknown, malformed), and a SIGKILLed worker's claim taken over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { checkSubfolder, run } from '../../src/worker/syncCheck.js';
import { claimDir } from '../../src/state/work.js';
import { addRows, closeCtx, errorMessages, makeWorld, messagesOn, publishDirs, publishRaw, putGcs, putS3, row, s3, workerCtx, type World } from './syncCheckFixture.js';
import { waitFor } from '../helpers/wait.js';
import { cutoffBetween } from '../helpers/lastModified.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';

let w: World;

beforeAll(async () => {
  w = await makeWorld('synccheck');
});

afterAll(async () => {
  await closeCtx(w.ctx);
});

describe('syncCheck measures', () => {
  it('counts only objects in scope (last-modified window, storage class), on both sides, and writes the reference end state', async () => {
    await putS3(w, 'data/one/a.txt', 'abc');
    await putS3(w, 'data/one/ü x+%.txt', 'hello');
    await putS3(w, 'data/one/infrequent.txt', 'not in scope', 'STANDARD_IA');
    // A cutoff S3's stamps fall on either side of (they may be whole seconds): the late objects after it.
    const cutoff = await cutoffBetween(s3, w.s3Bucket, ['data/one/a.txt', 'data/one/ü x+%.txt', 'data/one/infrequent.txt'], ['data/one/late.txt', 'data/two/a.txt'], async () => {
      await putS3(w, 'data/one/late.txt', 'modified after the window');
      await putS3(w, 'data/two/a.txt', 'abc'); // also late: out of scope
    });
    await putGcs(w, 'mirror/one/a.txt', 'abc');
    await putGcs(w, 'mirror/one/ü x+%.txt', 'hello');
    await addRows(w, ['data/one/', 'data/two/'], 'syncCheck');
    const ctx = await workerCtx(w, 'syncCheck', { last_modified_before: cutoff, storage_class: 'STANDARD' });
    expect(await checkSubfolder(ctx, 'data/one/')).toBe('equal');
    expect(await row(w, 'data/one/')).toMatchObject({
      s3_size: 8, gcs_size: 8, s3_objects: 2, gcs_objects: 2, sync_check_frequency: 1, sync_check_error: null,
      sync_check_in_progress: 0, sync_check_owner: null, sync_check_lease_until: null, deep_missing: null, phase: 3,
    });
    const r = await row(w, 'data/one/');
    expect(r.sync_check_last_end.getTime()).toBeGreaterThanOrEqual(r.sync_check_last_start.getTime());
    // Without the filters the late and STANDARD_IA objects count, and the subfolder is mismatched.
    const unfiltered = await workerCtx(w, 'syncCheck');
    expect(await checkSubfolder(unfiltered, 'data/one/')).toBe('mismatched');
    expect(await row(w, 'data/one/')).toMatchObject({ s3_objects: 4, gcs_objects: 2, sync_check_frequency: 2, phase: 4 });
    expect(await checkSubfolder(ctx, 'data/two/')).toBe('equal'); // nothing in scope on either side
    expect(await row(w, 'data/two/')).toMatchObject({ s3_objects: 0, gcs_objects: 0, sync_check_frequency: 1 });
    await Promise.all([closeCtx(ctx), closeCtx(unfiltered)]);
  });

  it('--deep finds a missing, a changed (same size) and an extra object, with their keys', async () => {
    await putS3(w, 'data/deep/same.txt', 'same');
    await putS3(w, 'data/deep/missing.txt', 'only in S3');
    await putS3(w, 'data/deep/changed.txt', 'abc');
    await putGcs(w, 'mirror/deep/same.txt', 'same');
    await putGcs(w, 'mirror/deep/changed.txt', 'abd');
    await putGcs(w, 'mirror/deep/extra.txt', 'only in GCS');
    await addRows(w, ['data/deep/']);
    expect(await checkSubfolder(w.ctx, 'data/deep/', { deep: true })).toBe('mismatched');
    const r = await row(w, 'data/deep/');
    expect(r).toMatchObject({ deep_missing: 1, deep_different: 1, deep_extra: 1, s3_objects: 3, gcs_objects: 3, s3_size: 4 + 10 + 3, gcs_size: 4 + 3 + 11 });
    expect(JSON.parse(r.deep_sample)).toEqual({ missing: ['data/deep/missing.txt'], different: ['data/deep/changed.txt'], extra: ['mirror/deep/extra.txt'] });
    // A shallow check sees equal counts and different sizes; the old diff is not left beside new sizes.
    expect(await checkSubfolder(w.ctx, 'data/deep/')).toBe('mismatched');
    expect(await row(w, 'data/deep/')).toMatchObject({ deep_missing: null, deep_sample: null });
  });
});

describe('syncCheck from Pub/Sub', () => {
  it('checks published subfolders; a busy one is deferred (its message comes back later); unknown and malformed ones go to the error topic', async () => {
    await putS3(w, 'data/q1/x', 'x');
    await putGcs(w, 'mirror/q1/x', 'x');
    await addRows(w, ['data/q1/', 'data/busy/'], 'syncCheck');
    // Another worker holds data/busy/ with a live lease.
    expect(await claimDir({ db: w.ctx.db, table: 'transfer_state', owner: 'other-vm', leaseSeconds: 600 }, 'rsync', 'data/busy/')).toBe(true);
    await publishDirs(w, 'syncCheck', ['data/q1/', 'data/busy/', 'data/not-in-table/']);
    await publishRaw(w, 'syncCheck', '{"v":1,"kind":"dir","purpose":"syncCheck"}');
    const ctx = await workerCtx(w, 'syncCheck', { lease_seconds: 30 }); // a busy message comes back after 10 s
    const s = await run(ctx, { maxMessages: 4, idleExitSeconds: 60, concurrency: 2 });
    expect(s).toMatchObject({ received: 4, malformed: 1, outcomes: { equal: 1, busy: 1, unknown: 1 } });
    expect(await row(w, 'data/q1/')).toMatchObject({ sync_check_frequency: 1, s3_objects: 1, gcs_objects: 1, sync_check_in_progress: 0 });
    expect(s.deferred).toBe(1);
    expect(await row(w, 'data/busy/')).toMatchObject({ sync_check_published: 1, sync_check_in_progress: 0, sync_check_frequency: 0, rsync_owner: 'other-vm' });
    const errors = await errorMessages(w, 2);
    expect(errors.map((e) => e.dir_key).sort()).toEqual(['', 'data/not-in-table/']);
    expect(errors.find((e) => e.dir_key === '')?.reason).toMatch(/malformed message .*dir_key/);
    // The holder lets go: the deferred message comes back and the check runs.
    await w.ctx.db.query("UPDATE transfer_state SET rsync_in_progress = FALSE, rsync_owner = NULL, rsync_lease_until = NULL WHERE dir_key = 'data/busy/'");
    expect(await run(ctx, { maxMessages: 1, idleExitSeconds: 60 })).toMatchObject({ received: 1, outcomes: { equal: 1 } });
    expect(await row(w, 'data/busy/')).toMatchObject({ sync_check_frequency: 1 });
    await closeCtx(ctx);
  });
  it('with dead_letter_topic_id set, a malformed message goes there with its original bytes and the reason', async () => {
    const ps = w.ctx.clients.pubsub();
    const [dead] = await ps.createTopic(`${w.topics.syncCheck.topic}-dead`);
    await dead.createSubscription(`${w.topics.syncCheck.topic}-dead-sub`);
    await publishRaw(w, 'syncCheck', 'not json at all');
    const ctx = await workerCtx(w, 'syncCheck', { dead_letter_topic_id: `${w.topics.syncCheck.topic}-dead` });
    expect(await run(ctx, { maxMessages: 1, idleExitSeconds: 60 })).toMatchObject({ received: 1, malformed: 1 });
    const [m] = await messagesOn(w, `${w.topics.syncCheck.topic}-dead-sub`, 1);
    expect(m.data).toBe('not json at all');
    expect(m.attributes.reason).toMatch(/^not JSON/);
    await closeCtx(ctx);
  });
});

describe('a SIGKILLed syncCheck worker', () => {
  it('leaves a claim that another worker takes over once the lease expired', async () => {
    await putS3(w, 'data/slow/x', 'xyz');
    await putGcs(w, 'mirror/slow/x', 'xyz');
    await addRows(w, ['data/slow/'], 'syncCheck');
    // The GCS listing of this subfolder hangs, so the worker is mid-check when it dies.
    const gcs = process.env.OTT_GCS_ENDPOINT!;
    const [hang] = await addFaults(gcs, { match: { op: 'list', bucket: w.gcsBucket, prefix: 'mirror/slow/' }, action: { delayMs: 120_000 } });
    const dir = mkdtempSync(join(tmpdir(), 'ott-sc-'));
    writeFileSync(join(dir, 'creds.json'), JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: w.ctx.secrets.mysql_config }));
    // Its own topic: the dead worker's unacked message must not be redelivered into the other tests.
    const ps = w.ctx.clients.pubsub();
    const [topic] = await ps.createTopic(`${w.topics.syncCheck.topic}-kill`);
    await topic.createSubscription(`${topic.name.split('/').pop()}-sub`);
    const cfg = { ...w.config, mysql_table: 'transfer_state', credentials_file: join(dir, 'creds.json'), pubsub_subscription_id: `${w.topics.syncCheck.topic}-kill-sub`, lease_seconds: 4 };
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify(cfg));
    const child = spawn(process.execPath, [join(process.cwd(), 'bin/ott.mjs'), '--config', join(dir, 'cfg.json'), 'syncCheck'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    await topic.publishMessage({ data: Buffer.from(JSON.stringify({ v: 1, kind: 'dir', purpose: 'syncCheck', dir_key: 'data/slow/' })) });
    const held = await waitFor('the child to claim data/slow/', async () => {
      const r = await row(w, 'data/slow/');
      return r.sync_check_in_progress === 1 ? r : null;
    });
    // Killed mid-check: its GCS listing is hanging in the fault.
    await waitFor('the child to list GCS', async () => (await listFaults(gcs, w.gcsBucket)).find((r) => r.id === hang)?.hits === 1);
    child.kill('SIGKILL');
    await exited;
    expect(held.sync_check_owner).toMatch(/-\d+-[0-9a-f]{6}$/);
    const left = await row(w, 'data/slow/');
    expect(left).toMatchObject({ sync_check_in_progress: 1, sync_check_owner: held.sync_check_owner });
    const ctx = await workerCtx(w, 'syncCheck');
    // While the dead worker's lease runs, the row is not free: a claim fails. Its 4 s lease may already have
    // run out on a loaded machine, so the test holds it live for the claim (a minute ahead by the DB clock),
    // then puts back the end the dead worker left, which the takeover below waits out.
    await w.ctx.db.query('UPDATE transfer_state SET sync_check_lease_until = UTC_TIMESTAMP() + INTERVAL 60 SECOND WHERE dir_key = ?', ['data/slow/']);
    const early = await claimDir({ db: ctx.db, table: 'transfer_state', owner: ctx.workerId, leaseSeconds: 60 }, 'syncCheck', 'data/slow/');
    expect(early).toBe(false);
    expect(await row(w, 'data/slow/')).toMatchObject({ sync_check_in_progress: 1, sync_check_owner: held.sync_check_owner });
    await w.ctx.db.query('UPDATE transfer_state SET sync_check_lease_until = ? WHERE dir_key = ?', [left.sync_check_lease_until, 'data/slow/']);
    await clearFaults(gcs, w.gcsBucket);
    await waitFor('the lease to expire', async () => {
      const [[r]] = await ctx.db.query<RowDataPacket[]>('SELECT sync_check_lease_until < UTC_TIMESTAMP() AS expired FROM transfer_state WHERE dir_key = ?', ['data/slow/']);
      return r.expired === 1;
    });
    expect(await checkSubfolder(ctx, 'data/slow/')).toBe('equal');
    expect(await row(w, 'data/slow/')).toMatchObject({ sync_check_in_progress: 0, sync_check_owner: null, sync_check_frequency: 1, s3_size: 3, gcs_size: 3 });
    await closeCtx(ctx);
  });
});

describe('syncCheck holding its lease', () => {
  it('renews the lease while a slow check runs, so nobody takes the row over meanwhile', async () => {
    await putS3(w, 'data/renew/x', 'x');
    await putGcs(w, 'mirror/renew/x', 'x');
    await addRows(w, ['data/renew/']);
    const gcs = process.env.OTT_GCS_ENDPOINT!;
    const [slowList] = await addFaults(gcs, { match: { op: 'list', bucket: w.gcsBucket, prefix: 'mirror/renew/' }, action: { delayMs: 7000 } });
    const slow = await workerCtx(w, 'syncCheck', { lease_seconds: 3 });
    const other = await workerCtx(w, 'syncCheck');
    const checking = checkSubfolder(slow, 'data/renew/');
    await waitFor('the claim', async () => (await row(w, 'data/renew/')).sync_check_in_progress === 1);
    const first = (await row(w, 'data/renew/')).sync_check_lease_until as Date;
    // Past the first lease's end (by the DB clock), the row is still held: renewed, not expired.
    await waitFor('the first lease to end', async () => {
      const [[r]] = await w.ctx.db.query<RowDataPacket[]>('SELECT ? < UTC_TIMESTAMP() AS past', [first]);
      return r.past === 1;
    });
    expect(await checkSubfolder(other, 'data/renew/')).toBe('busy');
    expect(await checking).toBe('equal');
    // The slow listing is what kept the check running past its first lease.
    expect((await listFaults(gcs, w.gcsBucket)).find((r) => r.id === slowList)?.hits).toBe(1);
    expect(await row(w, 'data/renew/')).toMatchObject({ sync_check_frequency: 1, sync_check_in_progress: 0, sync_check_published: 0 });
    await Promise.all([closeCtx(slow), closeCtx(other)]);
  });

  it('takes over a row whose rsync holder died (expired lease), ending that claim so the row never shows two holders', async () => {
    await putS3(w, 'data/deadrsync/x', 'x');
    await addRows(w, ['data/deadrsync/']);
    await w.ctx.db.query("UPDATE transfer_state SET rsync_in_progress = TRUE, rsync_owner = 'dead-vm', rsync_lease_until = UTC_TIMESTAMP() - INTERVAL 1 SECOND WHERE dir_key = 'data/deadrsync/'");
    expect(await checkSubfolder(w.ctx, 'data/deadrsync/')).toBe('mismatched');
    expect(await row(w, 'data/deadrsync/')).toMatchObject({ rsync_in_progress: 0, rsync_owner: null, sync_check_frequency: 1, s3_objects: 1, gcs_objects: 0 });
  });

  it('a MySQL failure while recording sends the subfolder to the error topic and leaves the claim to expire, then another worker takes it', async () => {
    await putS3(w, 'data/dbfail/x', 'xy');
    await putGcs(w, 'mirror/dbfail/x', 'xy');
    await addRows(w, ['data/dbfail/'], 'syncCheck');
    // The end-state statement fails for this row, as it would with MySQL gone mid-check.
    await w.ctx.db.query(`CREATE TRIGGER fail_end BEFORE UPDATE ON transfer_state FOR EACH ROW BEGIN
      IF OLD.dir_key = 'data/dbfail/' AND OLD.sync_check_in_progress AND NOT NEW.sync_check_in_progress THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'simulated MySQL failure'; END IF;
    END`);
    await publishDirs(w, 'syncCheck', ['data/dbfail/']);
    const ctx = await workerCtx(w, 'syncCheck', { lease_seconds: 2 });
    const s = await run(ctx, { maxMessages: 1, idleExitSeconds: 90 });
    await w.ctx.db.query('DROP TRIGGER fail_end');
    expect(s).toMatchObject({ received: 1, outcomes: { failed: 1 } });
    const errors = await errorMessages(w, 1);
    expect(errors[0]).toMatchObject({ mode: 'syncCheck', dir_key: 'data/dbfail/' });
    expect(errors[0].reason).toContain('simulated MySQL failure');
    const stranded = await row(w, 'data/dbfail/');
    expect(stranded).toMatchObject({ sync_check_in_progress: 1, sync_check_owner: ctx.workerId, sync_check_frequency: 0 });
    const next = await workerCtx(w, 'syncCheck');
    await waitFor('the lease to expire', async () => {
      const [[r]] = await w.ctx.db.query<RowDataPacket[]>("SELECT sync_check_lease_until < UTC_TIMESTAMP() AS expired FROM transfer_state WHERE dir_key = 'data/dbfail/'");
      return r.expired === 1;
    });
    expect(await checkSubfolder(next, 'data/dbfail/')).toBe('equal');
    expect(await row(w, 'data/dbfail/')).toMatchObject({ sync_check_in_progress: 0, sync_check_owner: null, sync_check_frequency: 1, s3_size: 2 });
    await Promise.all([closeCtx(ctx), closeCtx(next)]);
  });
});
