// One rule for every consumer mode, on the real stack: a message whose handler throws (it cannot record
// what happened: MySQL refuses, the error topic is gone) is nacked, redelivered and handled again once the
// outage is over; never acked and dropped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as runSyncCheck } from '../../src/worker/syncCheck.js';
import { run as runCdnTransfer } from '../../src/worker/cdnTransfer.js';
import { addFaults } from '../stack/faults.js';
import { addRows, closeCtx, errorMessages, makeWorld, publishDirs, putGcs, putS3, row, workerCtx, type World } from './syncCheckFixture.js';
import { waitFor } from '../helpers/wait.js';
import { addDirRow, bytesFor, cdnEndpoint, createWorld, drain, publish, pubsub, putObject, readGcs, worldContext } from './cdnTransferHarness.js';

describe('syncCheck: a handler that throws', () => {
  let w: World;
  beforeAll(async () => {
    w = await makeWorld('nackdir');
  });
  afterAll(async () => {
    await closeCtx(w.ctx);
  });

  it('has its message nacked while MySQL refuses the claim, and checks the subfolder on a redelivery once it is back', async () => {
    await putS3(w, 'data/outage/x', 'xyz');
    await putGcs(w, 'mirror/outage/x', 'xyz');
    await addRows(w, ['data/outage/'], 'syncCheck');
    // The claim itself fails for this row, as it would with MySQL refusing statements: nothing is held.
    await w.ctx.db.query(`CREATE TRIGGER refuse_claim BEFORE UPDATE ON transfer_state FOR EACH ROW BEGIN
      IF OLD.dir_key = 'data/outage/' AND NOT OLD.sync_check_in_progress AND NEW.sync_check_in_progress THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'simulated MySQL outage'; END IF;
    END`);
    await publishDirs(w, 'syncCheck', ['data/outage/']);
    const ctx = await workerCtx(w, 'syncCheck');
    const running = runSyncCheck(ctx, { idleExitSeconds: 4, concurrency: 1 });
    const [first] = await errorMessages(w, 1, 60_000);
    expect(first).toMatchObject({ mode: 'syncCheck', dir_key: 'data/outage/' });
    expect(first.reason).toContain('simulated MySQL outage');
    await w.ctx.db.query('DROP TRIGGER refuse_claim');
    const s = await running;
    expect(s.outcomes.failed).toBeGreaterThanOrEqual(1);
    expect(s.outcomes.equal).toBe(1);
    expect(s.received).toBe(s.outcomes.failed + 1);
    expect(await row(w, 'data/outage/')).toMatchObject({ sync_check_frequency: 1, sync_check_in_progress: 0, s3_size: 3, gcs_size: 3 });
    expect(ctx.logs.some((l) => l.includes('syncCheck: data/outage/ failed') && l.includes('nacked for redelivery'))).toBe(true);
    await closeCtx(ctx);
  });
});

describe('cdnTransfer: a handler that throws', () => {
  it('has its message nacked while the error topic refuses a failed key, and acks it on a redelivery once the topic exists', async () => {
    const w = await createWorld('nackcdn');
    const lateTopic = `${w.topic}-late-errors`;
    const ctx = await worldContext(w, { error_pubsub_topic_id: lateTopic });
    const dir = 'data/late/';
    await addDirRow(ctx, dir);
    const good = await putObject(w, `${dir}good.bin`, 20_000);
    const refused = await putObject(w, `${dir}refused.bin`, 1000);
    await addFaults(cdnEndpoint(), { match: { op: 'get', bucket: w.s3Bucket, prefix: refused.key }, times: 1000, action: { status: 403 } });
    await publish(w, dir, [good, refused]);
    const running = runCdnTransfer(ctx, { exitWhenIdleMs: 5000 });
    // The error topic does not exist yet: reporting the refused key throws, so the message is nacked.
    await waitFor('a nack for the refused key', async () => ctx.logs.some((l) => l.includes(`cdnTransfer: ${dir} failed`) && l.includes('nacked for redelivery')));
    const [t] = await pubsub.createTopic(lateTopic);
    await t.createSubscription(`${lateTopic}-sub`);
    const s = await running;
    expect(s).toMatchObject({ copied: 1, acked: 1 });
    expect(s.nacked).toBeGreaterThanOrEqual(1);
    expect(s.skipped).toBeGreaterThanOrEqual(1); // the good key, copied on the first delivery, skipped on the next
    // Each skip is counted under its reason: the 412 of the optimistic upload, then GCS's MD5 equal to the ETag.
    expect(Object.keys(s.skippedWhy)).toEqual(['same-md5']);
    expect(Object.values(s.skippedWhy).reduce((a, n) => a + n, 0)).toBe(s.skipped);
    expect(s.failed).toBeGreaterThanOrEqual(2);
    expect((await readGcs(w, 'copy/late/good.bin'))!.data.equals(bytesFor(good.key, good.size))).toBe(true);
    const errors = (await drain(`${lateTopic}-sub`, 1)).map((m) => JSON.parse(m.data.toString()) as { key?: string; reason: string });
    expect(errors.find((e) => e.key === refused.key)?.reason).toMatch(/HTTP 403/);
    await ctx.db.end();
  });
});
