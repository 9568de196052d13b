// The rsync cdn engine logs (DEBUG) and counts the objects its copies skip, per reason (rclone's
// NeedTransfer says why). The diff and the copy path make one decision (src/worker/copy/same.ts), so a
// skip comes from a race: here another writer stores a.txt in GCS while our copy of it is still reading
// from the CDN, and the copy path finds GCS's MD5 equal to the ETag. An object with the right bytes under
// a stale source-ETag record is the same object to both: neither copied nor skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { createEngine } from '../../src/worker/rsync.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';
import { waitFor } from '../helpers/wait.js';
import { closeCtx, makeWorld, putS3, workerCtx, type World } from './syncCheckFixture.js';

let w: World;
beforeAll(async () => {
  w = await makeWorld('rsyncskip', {}, { cdn: true });
});
afterAll(async () => {
  await closeCtx(w.ctx);
});

describe('rsync cdn engine', () => {
  it('counts skips per reason in its result', async () => {
    await putS3(w, 'data/sk/a.txt', 'alpha');
    await putS3(w, 'data/sk/b.txt', 'bravo');
    await putS3(w, 'data/sk/c.txt', 'charlie');
    const bucket = w.ctx.clients.gcs().bucket(w.gcsBucket);
    await bucket.file('mirror/sk/c.txt').save('charlie', { resumable: false, metadata: { metadata: { 'ott-source-etag': 'stale' } } });
    const cdn = process.env.OTT_CDN_ENDPOINT!;
    const [slow] = await addFaults(cdn, { match: { op: 'get', bucket: w.s3Bucket, prefix: 'data/sk/a.txt' }, action: { delayMs: 3000 } });
    const ctx = await workerCtx(w, 'rsync');
    const lines: string[] = [];
    const work = { ...ctx, log: createLogger({ labels: {}, level: 'DEBUG', write: (l) => lines.push(l) }) };
    const engine = createEngine(work, 'cdn');
    const syncing = engine.sync(work, 'data/sk/', { dryRun: false, print: () => undefined });
    await waitFor('our copy of a.txt to reach the CDN', async () => (await listFaults(cdn, w.s3Bucket)).find((r) => r.id === slow)?.hits === 1);
    await bucket.file('mirror/sk/a.txt').save('alpha', { resumable: false }); // the other writer
    const r = await syncing;
    await clearFaults(cdn, w.s3Bucket);
    expect(r).toMatchObject({ copied: 1, skipped: 1, skippedWhy: { 'same-md5': 1, 'same-source-etag': 0, 'written-meanwhile': 0 }, deleted: 0, failed: 0 });
    const skips = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'rsync: skipped');
    expect(skips.map((l) => [l.severity, l.dir_key, l.key, l.why])).toEqual([['DEBUG', 'data/sk/', 'data/sk/a.txt', 'same-md5']]);
    await engine.close();
    await closeCtx(ctx);
  });
});
