// The rsync cdn engine logs (DEBUG) and counts the objects its copies skip, per reason (rclone's
// NeedTransfer says why):
// here GCS holds the right bytes under a stale source-ETag record, so the diff calls the object different
// and the copy path finds GCS's MD5 equal to the ETag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
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
    const lines: string[] = [];
    const work = { ...ctx, log: createLogger({ labels: {}, level: 'DEBUG', write: (l) => lines.push(l) }) };
    const engine = createEngine(work, 'cdn');
    const r = await engine.sync(work, 'data/sk/', { dryRun: false, print: () => undefined });
    expect(r).toMatchObject({ copied: 1, skipped: 1, skippedWhy: { 'same-md5': 1, 'same-source-etag': 0, 'written-meanwhile': 0 }, deleted: 0, failed: 0 });
    const skips = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'rsync: skipped');
    expect(skips.map((l) => [l.severity, l.dir_key, l.key, l.why])).toEqual([['DEBUG', 'data/sk/', 'data/sk/a.txt', 'same-md5']]);
    await engine.close();
    await closeCtx(ctx);
  });
});
