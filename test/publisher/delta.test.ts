// publishObjectsList --delta on the real stack (issue 14, point 2): a source migrated by dump ->
// publishObjectsList -> cdnTransfer, then changed in S3 after the fact: an object added to a finished
// subfolder, one overwritten in place with new bytes of the same size (the only change in its subfolder),
// one deleted. The delta pass publishes exactly the new and the changed keys (counted on a tap
// subscription), cdnTransfer copies them (judged by compareCopies, which shares no code with src/), the
// deleted one is reported (summary, row, `ott status`) and removed from GCS only with the opt-in. Also:
// an object whose GCS copy holds the right bytes under a stale ott-source-etag is one decision for the
// diff, the copy path and the delta (it is not re-published, and the deep check calls it equal).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { RowDataPacket } from 'mysql2';
import { run as dump } from '../../src/dump/dump.js';
import { run as publishObjects } from '../../src/publisher/publishObjectsList.js';
import { run as cdnTransfer } from '../../src/worker/cdnTransfer.js';
import { deepCheck } from '../../src/worker/diff.js';
import { queryStatus, renderStatus } from '../../src/ops/status.js';
import { decodeMessage, objectsListMessageSchema } from '../../src/common/messages.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { waitForDb } from '../helpers/wait.js';
import { bytesFor, createWorld, pubsub, putMultipart, putObject, readGcs, s3, worldContext, type World } from '../worker/cdnTransferHarness.js';
import type { TestCtx } from '../helpers/context.js';
import { collect } from './pubsub.js';

const MiB = 1024 * 1024;
const tunables = { singleRequestMaxBytes: 1 * MiB, chunkBytes: 256 * 1024, optimisticMaxBytes: 64 * 1024 };

let w: World;
let ctx: TestCtx;
/** A second subscription on the objects topic: every key any publish sent, whatever cdnTransfer consumed. */
let tap: string;

beforeAll(async () => {
  w = await createWorld('delta');
  tap = `${w.topic}-tap`;
  await pubsub.topic(w.topic).createSubscription(tap, { ackDeadlineSeconds: 60 });
  ctx = await worldContext(w);
});

afterAll(async () => {
  await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

/** The keys published since the last call (drained from the tap subscription). */
async function publishedKeys(minCount = 0): Promise<string[]> {
  const got = await collect(pubsub, tap, { minCount, quietMs: 1500 });
  return got
    .flatMap((m) => {
      const d = decodeMessage(objectsListMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      return d.message.objects.map((o) => o.key);
    })
    .sort();
}

const judge = () => compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/' });

/** A later run's start must fall in a later second than the last delta flag (whole-second stamps). */
async function nextSecond(): Promise<void> {
  await waitForDb(ctx.db, 'the database clock to pass the last delta', 'SELECT COALESCE(MAX(delta_published_at) < UTC_TIMESTAMP(), 1) AS ok FROM transfer_state');
}

/** `ott publishObjectsList ARGS` as the real CLI; returns its summary (the `finished` log line). */
async function cli(args: string[]): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'ott-delta-'));
  writeFileSync(join(dir, 'creds.json'), JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ ...w.config, mysql_table: 'transfer_state', credentials_file: join(dir, 'creds.json') }));
  const out = await promisify(execFile)(process.execPath, [join(process.cwd(), 'bin/ott.mjs'), '--config', join(dir, 'cfg.json'), 'publishObjectsList', ...args]);
  const done = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { message: string; summary?: Record<string, unknown> })
    .find((l) => l.message === 'publishObjectsList finished');
  if (!done?.summary) throw new Error(`no summary in the CLI's output:\n${out.stdout}\n${out.stderr}`);
  return done.summary;
}

async function deltaRow(dirKey: string): Promise<RowDataPacket> {
  const [rows] = await ctx.db.query<RowDataPacket[]>(
    `SELECT delta_published AS published, delta_new_objects AS new_objects, delta_changed_objects AS changed_objects, delta_gone_objects AS gone,
       delta_gone_removed AS removed, delta_gone_sample AS sample, delta_publish_owner IS NOT NULL AS owned, published_objects, phase
     FROM transfer_state WHERE dir_key = ?`,
    [dirKey],
  );
  return rows[0];
}

describe('publishObjectsList --delta', () => {
  it('publishes only new and changed objects of finished subfolders, reports deleted ones, removes them only on opt-in', async () => {
    // The source: four subfolders, single-part, multipart and nested keys.
    await putObject(w, 'data/a/a1.txt', 100);
    await putObject(w, 'data/a/sub/a2.txt', 200);
    await putObject(w, 'data/b/b1.bin', 3000);
    await putObject(w, 'data/b/b2.bin', 4000);
    await putObject(w, 'data/c/c1.txt', 10);
    await putObject(w, 'data/c/c2.txt', 20);
    await putMultipart(w, 'data/d/mp.bin', [5 * MiB, 1000]);
    await putObject(w, 'data/d/stale-meta.txt', 50);
    const all = ['data/a/a1.txt', 'data/a/sub/a2.txt', 'data/b/b1.bin', 'data/b/b2.bin', 'data/c/c1.txt', 'data/c/c2.txt', 'data/d/mp.bin', 'data/d/stale-meta.txt'];

    // Migrated: dump, publish, copy; the judge agrees.
    expect(await dump(ctx)).toMatchObject({ new: 4 });
    expect(await publishObjects(ctx)).toMatchObject({ subfolders_published: 4, objects: all.length });
    expect(await publishedKeys(1)).toEqual(all);
    // While their first copy is under way (phase "published"), the delta leaves the subfolders alone.
    expect(await publishObjects(ctx, { delta: true })).toMatchObject({ subfolders_published: 0, objects: 0 });
    expect(await cdnTransfer(ctx, { exitWhenIdleMs: 1500, tunables })).toMatchObject({ copied: all.length, failed: 0 });
    expect(await judge()).toMatchObject({ objects: all.length, missing: [], different: [], extra: [] });

    // S3 moves on: added to a finished subfolder, overwritten with new bytes of the same size (the only
    // change in data/b/), deleted.
    await putObject(w, 'data/a/new.txt', 77);
    const old = await readGcs(w, 'copy/b/b1.bin');
    const rewritten = Buffer.from(bytesFor('data/b/b1.bin', 3000).map((x) => x ^ 0xff));
    await s3.send(new PutObjectCommand({ Bucket: w.s3Bucket, Key: 'data/b/b1.bin', Body: rewritten }));
    await s3.send(new DeleteObjectCommand({ Bucket: w.s3Bucket, Key: 'data/c/c2.txt' }));
    // Right bytes, stale record: the copy path (GCS md5 = the single-part ETag) and the diff must agree.
    await ctx.clients.gcs().bucket(w.gcsBucket).file('copy/d/stale-meta.txt').setMetadata({ metadata: { 'ott-source-etag': '0123456789abcdef0123456789abcdef' } });
    expect(await judge()).toMatchObject({ missing: ['data/a/new.txt'], different: ['data/b/b1.bin'], extra: ['copy/c/c2.txt'] });
    expect((await deepCheck(ctx, 'data/d/')).deep).toMatchObject({ missing: 0, different: 0, extra: 0 });

    // The first publish has nothing more to say: its rows are flagged.
    expect(await publishObjects(ctx)).toMatchObject({ subfolders_published: 0, objects: 0 });

    // A dry delta: what it would publish and what is gone; changes nothing.
    const dry = await publishObjects(ctx, { delta: true, dryRun: true, deleteUnmatched: true });
    expect(dry).toMatchObject({ dry_run: true, subfolders_published: 4, objects: 2, delta: { new_objects: 1, changed_objects: 1, gone_objects: 1, gone_removed: 0, remove_gone: false } });
    expect(await deltaRow('data/c/')).toMatchObject({ published: 0, gone: 0, new_objects: null });

    // The delta: exactly the new and the changed keys are published; the deleted one is reported and kept.
    const s = await publishObjects(ctx, { delta: true });
    expect(s).toMatchObject({
      subfolders_published: 4,
      subfolders_failed: 0,
      objects: 2,
      delta: { new_objects: 1, changed_objects: 1, unchanged_objects: all.length - 2, gone_objects: 1, gone_removed: 0, remove_gone: false, gone_sample: [{ dir_key: 'data/c/', name: 'copy/c/c2.txt' }] },
    });
    expect(await publishedKeys(1)).toEqual(['data/a/new.txt', 'data/b/b1.bin']);
    expect(ctx.logs.some((l) => l.includes('object(s) in GCS whose S3 source was deleted after its copy') && l.includes('copy/c/c2.txt'))).toBe(true);
    expect(await deltaRow('data/a/')).toMatchObject({ published: 1, new_objects: 1, changed_objects: 0, gone: 0, published_objects: 2 });
    expect(await deltaRow('data/b/')).toMatchObject({ published: 1, new_objects: 0, changed_objects: 1, gone: 0 });
    expect(await deltaRow('data/c/')).toMatchObject({ published: 1, new_objects: 0, changed_objects: 0, gone: 1, removed: 0, sample: '["copy/c/c2.txt"]' });
    expect(await deltaRow('data/d/')).toMatchObject({ published: 1, new_objects: 0, changed_objects: 0, gone: 0 });
    const st = await queryStatus(ctx.db, 'transfer_state');
    expect(st.goneFromS3).toEqual({ subfolders: 1, objects: 1, removed: 0, sample: [{ dirKey: 'data/c/', names: ['copy/c/c2.txt'] }] });
    expect(renderStatus(st)).toContain('deleted from S3 after their copy: 1 object(s) in 1 subfolder(s), 0 removed from GCS, 1 still in GCS');

    // cdnTransfer copies what the delta published; the judge finds the new and the changed bytes in GCS.
    expect(await cdnTransfer(ctx, { exitWhenIdleMs: 1500, tunables })).toMatchObject({ copied: 2, failed: 0 });
    expect(await judge()).toMatchObject({ objects: all.length, missing: [], different: [], extra: ['copy/c/c2.txt'] });
    expect((await readGcs(w, 'copy/b/b1.bin'))!.meta.generation).not.toBe(old!.meta.generation);

    // The next delta (a later run, as the CLI): nothing new or changed; with the opt-in, the deleted object goes.
    await nextSecond();
    const removing = await cli(['--delta', '--delete-unmatched']);
    expect(removing).toMatchObject({ subfolders_published: 4, objects: 0, delta: { new_objects: 0, changed_objects: 0, gone_objects: 1, gone_removed: 1, remove_gone: true } });
    expect(await publishedKeys()).toEqual([]);
    expect(await judge()).toMatchObject({ objects: all.length, missing: [], different: [], extra: [] });
    expect(await deltaRow('data/c/')).toMatchObject({ gone: 1, removed: 1 });
    expect(renderStatus(await queryStatus(ctx.db, 'transfer_state'))).toContain('deleted from S3 after their copy: 1 object(s) in 1 subfolder(s), 1 removed from GCS\n');
    await nextSecond();
    expect(await publishObjects(ctx, { delta: true })).toMatchObject({ subfolders_published: 4, objects: 0, delta: { gone_objects: 0 } });
    expect((await queryStatus(ctx.db, 'transfer_state')).goneFromS3).toMatchObject({ objects: 0 });
  });

  it('refuses --delete-unmatched without --delta', async () => {
    await expect(publishObjects(ctx, { deleteUnmatched: true })).rejects.toThrow(/--delete-unmatched applies to --delta only/);
  });
});
