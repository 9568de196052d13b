// `ott status` and `ott reset` on a seeded table (MariaDB only): every phase, live and stale claims,
// recent errors, the reset's refusal, --stale-only and --force, and both as the real CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { testContext, type TestCtx } from '../helpers/context.js';
import { queryStatus, renderStatus } from '../../src/ops/status.js';
import { reset, LiveClaimsError } from '../../src/ops/reset.js';

const exec = promisify(execFile);
let ctx: TestCtx;

type Seed = Record<string, unknown> & { dir_key: string };
const live = (sec: number): string => `UTC_TIMESTAMP() + INTERVAL ${sec} SECOND`;

async function seed(rows: Seed[]): Promise<void> {
  for (const r of rows) {
    const { dir_key, ...cols } = r;
    const names = Object.keys(cols);
    const values = names.map((k) => (typeof cols[k] === 'string' && (cols[k] as string).startsWith('UTC_TIMESTAMP()') ? cols[k] : ctx.db.escape(cols[k])));
    await ctx.db.query(
      `INSERT INTO transfer_state (dir_key, dir_key_sha${names.map((n) => `, ${n}`).join('')}) VALUES (?, UNHEX(SHA2(?, 256))${values.map((v) => `, ${v}`).join('')})`,
      [dir_key, dir_key],
    );
  }
}

async function flags(mode: 'sync_check' | 'rsync'): Promise<Record<string, { published: number; held: number; owner: string | null }>> {
  const [rows] = await ctx.db.query<RowDataPacket[]>(`SELECT dir_key, ${mode}_published AS p, ${mode}_in_progress AS h, ${mode}_owner AS o FROM transfer_state`);
  return Object.fromEntries(rows.map((r) => [r.dir_key, { published: r.p, held: r.h, owner: r.o }]));
}

beforeAll(async () => {
  ctx = await testContext('ops', { pubsub_subscription_id: 'unused' });
  const pub = { cdn_transfer_published: 1, initial_transfer: 0 };
  await seed([
    { dir_key: 'd/new-1/' },
    { dir_key: 'd/new-2/' },
    { dir_key: 'd/published/', ...pub, published_objects: 10, published_bytes: 1000, copied_objects: 4, copied_bytes: 400 },
    { dir_key: 'd/transferred/', ...pub, published_objects: 10, published_bytes: 1000, copied_objects: 8, copied_bytes: 800, skipped_objects: 2 },
    { dir_key: 'd/equal/', ...pub, sync_check_frequency: 1, sync_check_published: 1, s3_size: 5000, gcs_size: 5000, s3_objects: 5, gcs_objects: 5, sync_check_last_end: '2026-01-01 00:00:00' },
    // stale claim: lease long expired (a SIGKILLed worker)
    { dir_key: 'd/mismatch/', ...pub, sync_check_frequency: 1, sync_check_published: 1, s3_size: 3000, gcs_size: 1000, s3_objects: 3, gcs_objects: 1, sync_check_in_progress: 1, sync_check_owner: 'dead-vm', sync_check_lease_until: '2020-01-01 00:00:00' },
    { dir_key: 'd/rsynced/', ...pub, sync_check_frequency: 1, rsync_frequency: 1, s3_size: 7, gcs_size: 7, s3_objects: 1, gcs_objects: 1, sync_check_last_end: '2026-01-01 00:00:00', rsync_last_end: '2026-01-02 00:00:00', rsync_published: 1 },
    { dir_key: 'd/failed/', ...pub, rsync_frequency: 1, rsync_error: 'gcloud exited 1: AccessDenied', rsync_published: 1 },
    // the reference's bare flag, set by hand or by an old worker: no owner, no lease
    { dir_key: 'd/handset/', rsync_in_progress: 1 },
    // live claim on a published, unchecked row
    { dir_key: 'd/live/', ...pub, published_objects: 1, published_bytes: 10, sync_check_published: 1, sync_check_in_progress: 1, sync_check_owner: 'vm-a', sync_check_lease_until: live(600) },
  ]);
});

afterAll(async () => {
  await ctx.db.end();
});

describe('status', () => {
  it('counts subfolders, bytes and objects by phase, claims live and stale, recent errors', async () => {
    const s = await queryStatus(ctx.db, 'transfer_state');
    expect(Object.fromEntries(Object.entries(s.phases).map(([k, v]) => [k, v.subfolders]))).toEqual({
      new: 3, published: 2, transferred: 1, 'checked equal': 1, mismatched: 1, rsynced: 1, failed: 1,
    });
    expect(s.phases.published).toMatchObject({ s3Bytes: 1010, gcsBytes: 400, s3Objects: 11, gcsObjects: 4 });
    expect(s.phases.transferred).toMatchObject({ s3Bytes: 1000, gcsBytes: 800, s3Objects: 10, gcsObjects: 10 });
    expect(s.phases.mismatched).toMatchObject({ s3Bytes: 3000, gcsBytes: 1000, s3Objects: 3, gcsObjects: 1 });
    expect(s.total).toMatchObject({ subfolders: 10, s3Bytes: 1010 + 1000 + 5000 + 3000 + 7, gcsBytes: 400 + 800 + 5000 + 1000 + 7 });
    // Done is what checks verified: d/equal/ only (issue 14, point 8), never GCS totals or copy counters.
    expect(s.total.bytesPercentDone).toBe(Math.floor((5000 / (1010 + 1000 + 5000 + 3000 + 7)) * 1000) / 10);
    expect(s.total.objectsPercentDone).toBe(Math.floor((5 / (11 + 10 + 5 + 3 + 1)) * 1000) / 10);
    expect(s.claims.syncCheck).toMatchObject({ live: 1, stale: 1 });
    expect(s.claims.syncCheck.sample.map((c) => [c.dirKey, c.stale])).toEqual([['d/mismatch/', true], ['d/live/', false]]);
    expect(s.claims.rsync).toMatchObject({ live: 0, stale: 1 });
    expect(s.recentErrors).toEqual([expect.objectContaining({ dirKey: 'd/failed/', mode: 'rsync', error: 'gcloud exited 1: AccessDenied' })]);
    const text = renderStatus(s);
    expect(text).toMatch(/^checked equal\s+1\s/m);
    expect(text).toContain('STALE d/mismatch/  owner dead-vm');
    expect(text).toContain('rsync d/failed/: gcloud exited 1: AccessDenied');
  });
});

describe('reset', () => {
  it('refuses while live claims exist, naming them', async () => {
    await expect(reset(ctx, { mode: 'syncCheck' })).rejects.toThrow(LiveClaimsError);
    await expect(reset(ctx, { mode: 'syncCheck' })).rejects.toThrow(/1 live claim .*d\/live\//);
    expect((await flags('sync_check'))['d/equal/'].published).toBe(1); // nothing changed
  });

  it('--stale-only clears only the expired claim (and its published flag)', async () => {
    const r = await reset(ctx, { mode: 'syncCheck', staleOnly: true });
    expect(r).toMatchObject({ cleared: 1, liveClaims: 1 });
    const f = await flags('sync_check');
    expect(f['d/mismatch/']).toEqual({ published: 0, held: 0, owner: null });
    expect(f['d/live/']).toEqual({ published: 1, held: 1, owner: 'vm-a' });
    expect(f['d/equal/'].published).toBe(1);
  });

  it('rsync reset clears every rsync published flag, in batches, leaving syncCheck alone', async () => {
    const r = await reset(ctx, { mode: 'rsync', batchSize: 1 });
    expect(r).toMatchObject({ cleared: 3, liveClaims: 0 }); // two published rows and the hand-set flag
    expect(Object.values(await flags('rsync')).every((v) => v.published === 0 && v.held === 0)).toBe(true);
    expect((await flags('sync_check'))['d/live/'].held).toBe(1);
  });

  it('--force clears everything, live claims included', async () => {
    const r = await reset(ctx, { mode: 'syncCheck', force: true });
    expect(r).toMatchObject({ cleared: 2, liveClaims: 1 }); // d/equal/ and d/live/
    expect(Object.values(await flags('sync_check')).every((v) => v.published === 0 && v.held === 0 && v.owner === null)).toBe(true);
  });
});

describe('as the real CLI', () => {
  it('status --json prints one JSON document; reset refuses with a non-zero exit while a claim is live', async () => {
    await seed([{ dir_key: 'd/cli-live/', rsync_in_progress: 1, rsync_owner: 'vm-b', rsync_lease_until: live(600) }]);
    const dir = mkdtempSync(join(tmpdir(), 'ott-ops-'));
    writeFileSync(join(dir, 'creds.json'), JSON.stringify({ mysql_config: ctx.secrets.mysql_config }));
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ mysql_table: 'transfer_state', credentials_file: join(dir, 'creds.json') }));
    const base = [join(process.cwd(), 'bin/ott.mjs'), '--config', join(dir, 'cfg.json')];
    const out = await exec(process.execPath, [...base, 'status', '--json']);
    const s = JSON.parse(out.stdout);
    expect(s.total.subfolders).toBe(11);
    expect(s.claims.rsync).toMatchObject({ live: 1, stale: 0 });
    const screen = await exec(process.execPath, [...base, 'status']);
    expect(screen.stdout).toMatch(/^rsync\s+1\s+0$/m);
    const refused = await exec(process.execPath, [...base, 'reset', 'rsync']).then(
      () => ({ code: 0, stdout: '' }),
      (e: { code: number; stdout: string }) => e,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('refusing to reset rsync: 1 live claim');
    expect((await flags('rsync'))['d/cli-live/'].held).toBe(1);
  });
});
