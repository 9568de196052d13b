// rsync against the real stack (MariaDB, Pub/Sub, S3, GCS, CloudFront fixture, the real gcloud CLI):
// both engines repair a subfolder and the next syncCheck shows it equal; the cdn engine's dry run and
// delete_unmatched; an engine failure recorded and sent to the error topic with the claim ended; and two
// syncCheck workers racing one rsync worker on the same subfolders, with a trigger that rejects any
// statement letting two holders have a row at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSubfolder, run as runSyncCheck } from '../../src/worker/syncCheck.js';
import { createEngine, rsyncSubfolder, run as runRsync } from '../../src/worker/rsync.js';
import { gcloudArgs } from '../../src/worker/rsync/gcloud.js';
import { ConfigError } from '../../src/common/config/validate.js';
import { addRows, closeCtx, errorMessages, gcsNames, makeWorld, publishDirs, putGcs, putS3, row, workerCtx, type World } from './syncCheckFixture.js';
import { compareCopies, type CopyReport } from '../helpers/compareCopies.js';
import { addFaults, clearFaults, listFaults } from '../stack/faults.js';
import { cutoffBetween } from '../helpers/lastModified.js';
import { s3 } from './syncCheckFixture.js';

let w: World;

beforeAll(async () => {
  w = await makeWorld('rsync', {}, { cdn: true });
});

afterAll(async () => {
  await closeCtx(w.ctx);
});

/** The repair judged by the bytes: S3 and GCS under the subfolder downloaded and MD5-compared (no src/ code). */
async function compared(dir: string): Promise<CopyReport> {
  return compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: `data/${dir}`, gcsBucket: w.gcsBucket, gcsPrefix: `mirror/${dir}` });
}
const REPAIRED = { objects: 3, bytes: 18, missing: [], different: [], metadataLost: [], extra: [] };

async function brokenSubfolder(dir: string): Promise<void> {
  await putS3(w, `data/${dir}/a.txt`, 'alpha');
  await putS3(w, `data/${dir}/b c+ü.txt`, 'bravo!');
  await putS3(w, `data/${dir}/sub/c.txt`, 'charlie');
  await putGcs(w, `mirror/${dir}/a.txt`, 'alpha');
  await putGcs(w, `mirror/${dir}/b c+ü.txt`, 'BRAVO!'); // same size, different bytes
  await putGcs(w, `mirror/${dir}/zzz-extra.txt`, 'not in S3');
  await addRows(w, [`data/${dir}/`], 'rsync');
}

describe('rsync engines', () => {
  it('gcloud: runs `gcloud storage rsync` and the next syncCheck shows the subfolder equal', async () => {
    await brokenSubfolder('g1');
    const ctx = await workerCtx(w, 'rsync', { rsync_engine: 'gcloud', delete_unmatched: true });
    const engine = createEngine(ctx, 'gcloud');
    await w.ctx.db.query('UPDATE transfer_state SET sync_check_published = TRUE WHERE dir_key = ?', ['data/g1/']);
    expect(await rsyncSubfolder(ctx, engine, 'data/g1/')).toBe('equal');
    // sync_check_published cleared: the repair is due a confirming sync check (publishDirList takes it).
    expect(await row(w, 'data/g1/')).toMatchObject({ sync_check_published: 0, rsync_frequency: 1, rsync_error: null, rsync_in_progress: 0, rsync_owner: null, s3_objects: 3, gcs_objects: 3, s3_size: 18, gcs_size: 18, phase: 5 });
    expect(await gcsNames(w, 'mirror/g1/')).toEqual(['mirror/g1/a.txt', 'mirror/g1/b c+ü.txt', 'mirror/g1/sub/c.txt']);
    expect(await compared('g1/')).toMatchObject(REPAIRED);
    expect(await checkSubfolder(ctx, 'data/g1/', { deep: true })).toBe('equal');
    expect(await row(w, 'data/g1/')).toMatchObject({ deep_missing: 0, deep_different: 0, deep_extra: 0, phase: 3 });
    await closeCtx(ctx);
  });

  it('cdn: --dry-run prints the plan and changes nothing; then copies only what differs, deletes the extra object, and checks equal', async () => {
    await brokenSubfolder('c1');
    const ctx = await workerCtx(w, 'rsync', { delete_unmatched: true });
    const lines: string[] = [];
    const plan = await runRsync(ctx, { dryRun: true, dirs: ['data/c1/'], print: (l) => lines.push(l) });
    expect(plan.outcomes).toEqual({ planned: 1 });
    expect(lines.slice(2)).toEqual(['copy   data/c1/sub/c.txt (missing in GCS)', 'delete mirror/c1/zzz-extra.txt (not in S3)']);
    expect(lines[1]).toMatch(/^copy {3}data\/c1\/b c\+ü\.txt \(hashes differ/);
    expect(await gcsNames(w, 'mirror/c1/')).toEqual(['mirror/c1/a.txt', 'mirror/c1/b c+ü.txt', 'mirror/c1/zzz-extra.txt']);
    expect(await compared('c1/')).toMatchObject({ missing: ['data/c1/sub/c.txt'], different: ['data/c1/b c+ü.txt'], extra: ['mirror/c1/zzz-extra.txt'] });
    expect(await row(w, 'data/c1/')).toMatchObject({ rsync_frequency: 0, rsync_in_progress: 0 });

    const s = await runRsync(ctx, { dirs: ['data/c1/'] });
    expect(s).toMatchObject({ engine: 'cdn', copied: 2, deleted: 1, failedObjects: 0, outcomes: { equal: 1 } });
    expect(await row(w, 'data/c1/')).toMatchObject({ rsync_frequency: 1, rsync_error: null, s3_objects: 3, gcs_objects: 3, s3_size: 18, gcs_size: 18 });
    expect(await gcsNames(w, 'mirror/c1/')).toEqual(['mirror/c1/a.txt', 'mirror/c1/b c+ü.txt', 'mirror/c1/sub/c.txt']);
    expect(await compared('c1/')).toMatchObject(REPAIRED);
    expect(await checkSubfolder(ctx, 'data/c1/', { deep: true })).toBe('equal');
    await closeCtx(ctx);
  });

  // gcloud storage rsync cannot apply the object filters: it would copy (and with delete_unmatched delete)
  // objects outside the scope. Refused before anything runs, as a config error (the CLI exits 78).
  it.each([
    ['rsync_engine gcloud in config', 'gf1', { rsync_engine: 'gcloud', storage_class: ['STANDARD'] }, {}, /storage_class/],
    ['--engine gcloud', 'gf2', { last_modified_after: '2020-01-01T00:00:00Z', last_modified_before: '2021-01-01T00:00:00Z' }, { engine: 'gcloud' as const }, /last_modified_after, last_modified_before/],
  ])('gcloud is refused when an object filter is set (%s); nothing is copied', async (_what, dir, config, args, fields) => {
    await brokenSubfolder(dir);
    const ctx = await workerCtx(w, 'rsync', { delete_unmatched: true, ...config });
    const err = await runRsync(ctx, { ...args, dirs: [`data/${dir}/`] }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(fields);
    expect((err as Error).message).toMatch(/rsync_engine cdn/);
    expect(await gcsNames(w, `mirror/${dir}/`)).toEqual([`mirror/${dir}/a.txt`, `mirror/${dir}/b c+ü.txt`, `mirror/${dir}/zzz-extra.txt`]);
    await closeCtx(ctx);
  });

  it('gcloud: a subfolder named with shell metacharacters is synced as is (argument array, no shell); wildcards are refused', async () => {
    const odd = "data/it's $(touch pwned); `x` | & >/";
    await putS3(w, `${odd}f.txt`, 'payload');
    await addRows(w, [odd, 'data/glob[1]/']);
    const ctx = await workerCtx(w, 'rsync');
    const engine = createEngine(ctx, 'gcloud');
    expect(gcloudArgs(ctx, odd, false).slice(-2)).toEqual([`s3://${w.s3Bucket}/${odd}`, `gs://${w.gcsBucket}/mirror/${odd.slice(5)}`]);
    expect(gcloudArgs(ctx, odd, false).join(' ')).not.toContain('S3RVER'); // credentials travel in the environment only
    expect(await rsyncSubfolder(ctx, engine, odd)).toBe('equal');
    expect(await gcsNames(w, `mirror/${odd.slice(5)}`)).toEqual([`mirror/${odd.slice(5)}f.txt`]);
    expect(await compared(odd.slice(5))).toMatchObject({ ...REPAIRED, objects: 1, bytes: 7 });
    expect(await rsyncSubfolder(ctx, engine, 'data/glob[1]/')).toBe('failed');
    expect((await row(w, 'data/glob[1]/')).rsync_error).toMatch(/wildcards; use rsync_engine cdn/);
    await errorMessages(w, 1);
    await closeCtx(ctx);
  });

  it('as the real CLI: `ott rsync --dry-run --dir` prints the plan and changes nothing', async () => {
    await brokenSubfolder('cli');
    const dir = mkdtempSync(join(tmpdir(), 'ott-rsync-'));
    writeFileSync(join(dir, 'creds.json'), JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: w.ctx.secrets.mysql_config }));
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ ...w.config, mysql_table: 'transfer_state', credentials_file: join(dir, 'creds.json') }));
    const out = await promisify(execFile)(process.execPath, [join(process.cwd(), 'bin/ott.mjs'), '--config', join(dir, 'cfg.json'), 'rsync', '--dry-run', '--dir', 'data/cli/']);
    const plan = out.stdout.split('\n').filter((l) => !l.startsWith('{'));
    expect(plan).toContain('copy   data/cli/sub/c.txt (missing in GCS)');
    expect(plan).toContain('keep   mirror/cli/zzz-extra.txt (not in S3; delete_unmatched is off)');
    expect(plan.some((l) => /^copy {3}data\/cli\/b c\+ü\.txt \(hashes differ/.test(l))).toBe(true);
    expect(await gcsNames(w, 'mirror/cli/')).toEqual(['mirror/cli/a.txt', 'mirror/cli/b c+ü.txt', 'mirror/cli/zzz-extra.txt']);
    expect(await row(w, 'data/cli/')).toMatchObject({ rsync_frequency: 0, rsync_in_progress: 0 });
  });

  it('cdn with delete_unmatched off keeps GCS-only objects: the subfolder stays mismatched', async () => {
    await brokenSubfolder('c2');
    const ctx = await workerCtx(w, 'rsync');
    expect(await rsyncSubfolder(ctx, createEngine(ctx, 'cdn'), 'data/c2/')).toBe('mismatched');
    expect(await gcsNames(w, 'mirror/c2/')).toContain('mirror/c2/zzz-extra.txt');
    // What differed is repaired; only the GCS-only object keeps it mismatched.
    expect(await compared('c2/')).toMatchObject({ ...REPAIRED, extra: ['mirror/c2/zzz-extra.txt'] });
    expect(await row(w, 'data/c2/')).toMatchObject({ s3_objects: 3, gcs_objects: 4, rsync_error: null });
    await closeCtx(ctx);
  });

  it('an engine failure is recorded in rsync_error (stderr tail) and sent to the error topic; the claim is ended', async () => {
    await addRows(w, ['data/gone/'], 'rsync');
    const ctx = await workerCtx(w, 'rsync', { s3_bucket: 'no-such-bucket-ott' });
    expect(await rsyncSubfolder(ctx, createEngine(ctx, 'gcloud'), 'data/gone/')).toBe('failed');
    const r = await row(w, 'data/gone/');
    expect(r).toMatchObject({ rsync_in_progress: 0, rsync_owner: null, rsync_lease_until: null, rsync_frequency: 1, phase: 6 });
    expect(r.rsync_error).toMatch(/^gcloud storage rsync exited with 1: .*(NoSuchBucket|not exist|404)/s);
    expect(r.rsync_error).not.toContain('S3RVER'); // the secret never reaches the table
    const errors = await errorMessages(w, 1);
    expect(errors[0]).toMatchObject({ mode: 'rsync', dir_key: 'data/gone/', kind: 'error' });
    await closeCtx(ctx);
  });
  it('gcloud past rsync_timeout_seconds is killed, and the timeout is recorded', async () => {
    await brokenSubfolder('slow');
    // gcloud's listing of the bucket hangs; the measuring afterwards is served (the rule is spent).
    const gcs = process.env.OTT_GCS_ENDPOINT!;
    const [hang] = await addFaults(gcs, { match: { op: 'list', bucket: w.gcsBucket }, action: { delayMs: 60_000 } });
    // Long enough for gcloud to start and reach the hanging listing even on a busy machine.
    const ctx = await workerCtx(w, 'rsync', { rsync_timeout_seconds: 10 });
    expect(await rsyncSubfolder(ctx, createEngine(ctx, 'gcloud'), 'data/slow/')).toBe('failed');
    // The timeout came from the hanging listing: the fault fired.
    expect((await listFaults(gcs, w.gcsBucket)).find((r) => r.id === hang)?.hits).toBe(1);
    await clearFaults(gcs, w.gcsBucket);
    const r = await row(w, 'data/slow/');
    expect(r.rsync_error).toMatch(/^gcloud storage rsync timed out after 10 s \(rsync_timeout_seconds\)/);
    expect(r).toMatchObject({ rsync_in_progress: 0, rsync_frequency: 1, s3_objects: 3, gcs_objects: 3 });
    await errorMessages(w, 1);
    await closeCtx(ctx);
  });
});

// Issue 14, point 5: deletion is never driven by a filter. A GCS copy whose S3 source still exists but is
// filtered out (storage_class, last_modified_*) is out of scope, not extra: delete_unmatched removes only
// what S3 no longer has, and the out-of-scope copies count on neither side, so the subfolder checks equal.
describe('delete_unmatched with object filters (cdn engine)', () => {
  let cutoff: string;
  const dir = 'data/filtered/';
  const copies = ['mirror/filtered/cold.txt', 'mirror/filtered/early.txt', 'mirror/filtered/late.txt'];

  beforeAll(async () => {
    await putS3(w, `${dir}early.txt`, 'early');
    await putS3(w, `${dir}cold.txt`, 'infrequent access', 'STANDARD_IA');
    cutoff = await cutoffBetween(s3, w.s3Bucket, [`${dir}early.txt`, `${dir}cold.txt`], [`${dir}late.txt`], () => putS3(w, `${dir}late.txt`, 'late'));
    // Copies of all three (made before the filters were set), and one object S3 no longer has.
    await putGcs(w, 'mirror/filtered/early.txt', 'early');
    await putGcs(w, 'mirror/filtered/cold.txt', 'infrequent access');
    await putGcs(w, 'mirror/filtered/late.txt', 'late');
    await addRows(w, [dir]);
  });

  it.each([
    ['storage_class', () => ({ storage_class: 'STANDARD' }), 'cold.txt', 2],
    ['last_modified_before', () => ({ last_modified_before: cutoff }), 'late.txt', 2],
    ['last_modified_after', () => ({ last_modified_after: cutoff }), 'cold.txt', 1],
  ])('%s: the copies of filtered-out objects stay; only the object gone from S3 is deleted', async (filter, config, outOfScope, inScope) => {
    await putGcs(w, 'mirror/filtered/zz-gone.txt', 'deleted from S3');
    const ctx = await workerCtx(w, 'rsync', { delete_unmatched: true, ...config() });
    const lines: string[] = [];
    await runRsync(ctx, { dryRun: true, dirs: [dir], print: (l) => lines.push(l) });
    expect(lines.filter((l) => l.startsWith('delete'))).toEqual(['delete mirror/filtered/zz-gone.txt (not in S3)']);
    expect(lines).toContain(`keep   mirror/filtered/${outOfScope} (its source is out of scope: ${filter})`);

    expect(await runRsync(ctx, { dirs: [dir] })).toMatchObject({ deleted: 1, copied: 0, failedObjects: 0, outcomes: { equal: 1 } });
    expect(await gcsNames(w, 'mirror/filtered/')).toEqual(copies);
    expect(await row(w, dir)).toMatchObject({ s3_objects: inScope, gcs_objects: inScope });
    // The deep check agrees: nothing extra, nothing missing.
    expect(await checkSubfolder(ctx, dir, { deep: true })).toBe('equal');
    expect(await row(w, dir)).toMatchObject({ deep_missing: 0, deep_different: 0, deep_extra: 0 });
    await closeCtx(ctx);
  });
});

describe('two syncCheck workers and one rsync worker racing', () => {
  it('never hold a subfolder at once; every message ends in a recorded outcome', async () => {
    // Any UPDATE that would let both modes hold a row, or take a live lease from its holder, fails.
    await w.ctx.db.query(`CREATE TRIGGER one_holder BEFORE UPDATE ON transfer_state FOR EACH ROW BEGIN
      IF NEW.sync_check_in_progress AND NEW.rsync_in_progress THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'both modes hold the row'; END IF;
      IF OLD.sync_check_in_progress AND NEW.sync_check_in_progress AND NOT (OLD.sync_check_owner <=> NEW.sync_check_owner) AND OLD.sync_check_lease_until >= UTC_TIMESTAMP()
        THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'live syncCheck lease taken'; END IF;
      IF OLD.rsync_in_progress AND NEW.rsync_in_progress AND NOT (OLD.rsync_owner <=> NEW.rsync_owner) AND OLD.rsync_lease_until >= UTC_TIMESTAMP()
        THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'live rsync lease taken'; END IF;
    END`);
    await addRows(w, ['data/probe/']);
    await expect(w.ctx.db.query("UPDATE transfer_state SET sync_check_in_progress = TRUE, rsync_in_progress = TRUE WHERE dir_key = 'data/probe/'")).rejects.toThrow(/both modes/);
    const dirs = ['r1', 'r2', 'r3', 'r4', 'r5'].map((d) => `data/${d}/`);
    for (const d of dirs) {
      for (let i = 0; i < 3; i++) await putS3(w, `${d}o${i}`, `object ${i} of ${d}`);
      await putGcs(w, `mirror/${d.slice(5)}o0`, `object 0 of ${d}`);
    }
    await addRows(w, dirs, 'syncCheck');
    await publishDirs(w, 'syncCheck', [...dirs, ...dirs]);
    await publishDirs(w, 'rsync', dirs);
    const [a, b, c] = await Promise.all([workerCtx(w, 'syncCheck'), workerCtx(w, 'syncCheck'), workerCtx(w, 'rsync')]);
    const [sa, sb, sc] = await Promise.all([
      runSyncCheck(a, { idleExitSeconds: 6, concurrency: 2 }),
      runSyncCheck(b, { idleExitSeconds: 6, concurrency: 2 }),
      runRsync(c, { idleExitSeconds: 6, concurrency: 2 }),
    ]);
    const outcomes = [sa, sb, sc].flatMap((s) => Object.entries(s.outcomes));
    expect(outcomes.filter(([o]) => !['equal', 'mismatched', 'busy'].includes(o))).toEqual([]);
    expect(sa.received + sb.received).toBe(10);
    expect(sc.received).toBe(5);
    for (const d of dirs) {
      const r = await row(w, d);
      expect(r).toMatchObject({ sync_check_in_progress: 0, rsync_in_progress: 0, sync_check_owner: null, rsync_owner: null });
      // A subfolder was checked at least once, or its message deferred to come back (flag left on).
      expect(r.sync_check_frequency > 0 || r.sync_check_published === 1).toBe(true);
    }
    // Pub/Sub may hand every message to one subscriber stream: race the three workers head-on as well.
    const engine = createEngine(c, 'cdn');
    const direct = await Promise.all(dirs.map((d) => Promise.all([checkSubfolder(a, d), checkSubfolder(b, d), rsyncSubfolder(c, engine, d)])));
    for (const results of direct) {
      expect(results.every((o) => ['equal', 'mismatched', 'busy'].includes(o))).toBe(true);
      expect(results.some((o) => o !== 'busy')).toBe(true); // a row is busy only because someone else held it
    }
    await engine.close();
    await Promise.all([closeCtx(a), closeCtx(b), closeCtx(c)]);
    await w.ctx.db.query('DROP TRIGGER one_holder');
  });
});
