// The rsync cdn engine counts the objects its copies skip, per reason (rclone's NeedTransfer says why):
// here GCS holds the right bytes under a stale source-ETag record, so the diff calls the object different
// and the copy path finds GCS's MD5 equal to the ETag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/worker/rsync.js';
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
    await w.ctx.clients.gcs().bucket(w.gcsBucket).file('mirror/sk/a.txt').save('alpha', { resumable: false, metadata: { metadata: { 'ott-source-etag': 'stale' } } });
    const ctx = await workerCtx(w, 'rsync');
    const engine = createEngine(ctx, 'cdn');
    const r = await engine.sync(ctx, 'data/sk/', { dryRun: false, print: () => undefined });
    expect(r).toMatchObject({ copied: 1, skipped: 1, skippedBy: { 'same-md5': 1, 'same-source-etag': 0, 'written-meanwhile': 0 }, deleted: 0, failed: 0 });
    await engine.close();
    await closeCtx(ctx);
  });
});
