// `ott estimate` on the real stack: a dumped table, a sampled listing of S3, the pre-flight findings
// (archived objects with their restore cost, names GCS refuses), extrapolation from a sample, sizes the
// table already knows, and the real CLI's table and JSON.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type StorageClass } from '@aws-sdk/client-s3';
import { run as dump } from '../../src/dump/dump.js';
import { estimate, renderEstimate, type EstimateOptions } from '../../src/ops/estimate.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext } from '../helpers/context.js';

const exec = promisify(execFile);
const s3 = makeS3Client();
const bucket = uniqueName('estimate');
const SIZES = [10, 2048, 20_480]; // one object in each of three histogram buckets
const PER_SUBFOLDER = SIZES.reduce((a, b) => a + b, 0);
const LONG = ['a', 'b', 'c', 'd'].map((c) => c.repeat(240)).join('/'); // 963 bytes: fits S3, not GCS after a longer prefix
const GCS_PREFIX = 'migrated-from-the-old-aws-account/'.repeat(2); // 68 bytes where S3 had 5 ('data/')
const options: EstimateOptions = { sample: 100, vms: 2, network: 'external-ip', cdnRegion: 'us', stsRegion: 'us', ramp: true };

async function put(key: string, size: number, storageClass?: StorageClass): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(size, 7), ...(storageClass ? { StorageClass: storageClass } : {}) }));
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const d of ['a', 'b', 'c', 'd']) for (const [i, size] of SIZES.entries()) await put(`data/${d}/obj-${i}`, size);
  await put('data/cold/glacier.bin', 3000, 'GLACIER');
  await put('data/cold/deep.bin', 5000, 'DEEP_ARCHIVE');
  await put('data/cold/warm.bin', 100);
  await put(`data/long/${LONG}`, 42);
  for (const d of ['w', 'x', 'y', 'z']) for (const [i, size] of SIZES.entries()) await put(`eq/${d}/obj-${i}`, size);
});

const config = { s3_bucket: bucket, s3_root_prefix: 'data/', gcs_bucket: 'unused', gcs_root_prefix: GCS_PREFIX, storage_class: ['STANDARD'] };

describe('ott estimate', () => {
  it('lists every unknown subfolder when the sample covers them: measured totals, histogram, findings, restore cost', async () => {
    const ctx = await testContext('estimate', config);
    await dump(ctx, {});
    const e = await estimate(ctx, options);
    const inScope = 4 * PER_SUBFOLDER + 100 + 42;
    expect(e.workload).toMatchObject({ subfolders: 6, objects: 4 * 3 + 2, bytes: inScope, from: 'measured', extrapolatedSubfolders: 0, uncountedSubfolders: 0 });
    expect(e.workload.sampled).toMatchObject({ subfolders: 6, outOfScopeObjects: 2 });
    const hist = Object.fromEntries(e.workload.histogram.filter((b) => b.objects).map((b) => [b.label, b.objects]));
    expect(hist).toEqual({ '<= 1 KiB': 4 + 2, '<= 16 KiB': 4, '<= 128 KiB': 4 }); // 10 B x4, 100 B, 42 B; 2 KiB x4; 20 KiB x4
    const archived = e.workload.findings.find((f) => f.kind === 'archived')!;
    expect(archived).toMatchObject({ objects: 2, bytes: 8000, byClass: { GLACIER: { objects: 1, bytes: 3000 }, DEEP_ARCHIVE: { objects: 1, bytes: 5000 } } });
    expect(archived.sample.sort()).toEqual(['data/cold/deep.bin', 'data/cold/glacier.bin']);
    const refused = e.workload.findings.find((f) => f.kind === 'name GCS refuses')!;
    expect(refused).toMatchObject({ objects: 1, bytes: 42, sample: [`data/long/${LONG}`] });
    expect(refused.what).toContain('longer than 1,024 bytes');
    // Deep Archive bulk: 5,000 B / 2^30 x $0.0025 + 1 / 1,000 x $0.025; Glacier bulk is free
    expect(e.restore.find((r) => r.storageClass === 'DEEP_ARCHIVE')!.usd).toBeCloseTo((5000 / 1024 ** 3) * 0.0025 + 0.000025, 12);
    expect(e.restore.find((r) => r.storageClass === 'GLACIER')!.usd).toBe(0);
    // CloudFront's first tier for the in-scope bytes, by hand
    const ours = e.routes.find((r) => r.id === 'ott-cloudfront')!;
    expect(ours.lines[0].usd).toBeCloseTo((inScope / 1024 ** 3) * 0.085, 12);
    expect(e.caveats[0]).toMatch(/AWS waives data transfer out/);
    const text = renderEstimate(e);
    expect(text).toContain('archived: 2 objects');
    expect(text).toMatch(/Cost by route/);
    await ctx.db.end();
  });

  it('extrapolates from a sample to the subfolders not listed, and says so', async () => {
    const ctx = await testContext('estimate', { ...config, s3_root_prefix: 'eq/', gcs_root_prefix: '' });
    await dump(ctx, {});
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const e = await estimate(ctx, { ...options, sample: 2, random });
    // four equal subfolders, two listed: the other two are the sample's mean, exactly
    expect(e.workload).toMatchObject({ subfolders: 4, objects: 12, bytes: 4 * PER_SUBFOLDER, from: 'extrapolated', extrapolatedSubfolders: 2 });
    expect(e.workload.sampled.subfolders).toBe(2);
    expect(e.routes[0].lines[0].quantityFrom).toBe('extrapolated');
    await ctx.db.end();
  });

  it('takes sizes the table already knows instead of listing those subfolders again', async () => {
    const ctx = await testContext('estimate', { ...config, s3_root_prefix: 'eq/', gcs_root_prefix: '' });
    await dump(ctx, {});
    // as publishObjectsList records a subfolder it listed
    await ctx.db.query("UPDATE transfer_state SET published_objects = 1000, published_bytes = 5000000 WHERE dir_key = 'eq/w/'");
    const e = await estimate(ctx, options);
    expect(e.workload.known).toEqual({ subfolders: 1, objects: 1000, bytes: 5_000_000 });
    expect(e.workload).toMatchObject({ objects: 1000 + 9, bytes: 5_000_000 + 3 * PER_SUBFOLDER, from: 'measured' });
    expect(e.workload.sampled.subfolders).toBe(3);
    await ctx.db.end();
  });

  it('takes the per-VM rates the running fleet measures (workers heartbeating for over a minute), and says so', async () => {
    const ctx = await testContext('estimate', { ...config, s3_root_prefix: 'eq/', gcs_root_prefix: '' });
    await dump(ctx, {});
    // As cdnTransfer's heartbeats record them: two processes on host a, one on host b, 10 minutes each.
    const worker = (id: string, host: string, objects: number, bytes: number, mode = 'cdnTransfer'): Promise<unknown> =>
      ctx.db.query(
        `INSERT INTO workers (state_table, worker_id, mode, host, started_at, heartbeat_at, objects, bytes) VALUES ('transfer_state', ?, ?, ?, UTC_TIMESTAMP(6) - INTERVAL 600 SECOND, UTC_TIMESTAMP(6), ?, ?)`,
        [id, mode, host, objects, bytes],
      );
    await worker('a-1', 'a', 30_000, 3e9);
    await worker('a-2', 'a', 30_000, 3e9);
    await worker('b-1', 'b', 60_000, 6e9);
    await worker('c-1', 'c', 999_999, 9e12, 'syncCheck'); // not a copy worker
    const e = await estimate(ctx, options);
    expect(e.pace).toMatchObject({ rates: 'measured', measuredHosts: 2 });
    expect(e.pace.vmObjectsPerSecond).toBeCloseTo(100, 6); // (60,000 / 600 s) per host
    expect(e.pace.vmBytesPerSecond).toBeCloseTo(1e7, 0);
    expect(renderEstimate(e)).toContain('Time (measured rates, from the 2 VM(s) running now)');
    expect(e.caveats.join(' ')).not.toMatch(/Per-VM rates are assumptions/);
    await ctx.db.end();
  });

  it('runs as the real CLI: a table for humans, --json for tools, a bad price file refused with exit 78', async () => {
    const ctx = await testContext('estimate', config);
    await dump(ctx, {});
    const dir = mkdtempSync(join(tmpdir(), 'ott-estimate-'));
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ mysql_table: 'transfer_state', credentials_file: creds, ...config }));
    const human = await exec(process.execPath, ['bin/ott.mjs', '--config', cfg, 'estimate', '--vms', '3', '--target-days', '7']);
    expect(human.stdout).toMatch(/^ott estimate: table transfer_state/);
    expect(human.stdout).toMatch(/to finish within 7 days: 1 VMs/);
    expect(human.stdout).toMatch(/\[price: list price; quantity: measured\]/);
    const over = join(dir, 'negotiated.json');
    writeFileSync(over, JSON.stringify({ cloudfront: { dataTransferOutPerGiB: { us: [[null, 0.02]] } } }));
    const json = JSON.parse((await exec(process.execPath, ['bin/ott.mjs', '--config', cfg, 'estimate', '--json', '--prices', over])).stdout);
    const ours = json.routes.find((r: { id: string }) => r.id === 'ott-cloudfront');
    expect(ours.lines[0]).toMatchObject({ price: 'price override', usd: ((4 * PER_SUBFOLDER + 142) / 1024 ** 3) * 0.02 });
    writeFileSync(over, JSON.stringify({ s3: { getRequestsPer1k: -1 } }));
    const bad = await exec(process.execPath, ['bin/ott.mjs', '--config', cfg, 'estimate', '--prices', over]).catch((e: { code: number; stderr: string; stdout: string }) => e);
    expect(bad).toMatchObject({ code: 78 });
    expect(bad.stdout + bad.stderr).toMatch(/price override file .*s3\.getRequestsPer1k/);
    await ctx.db.end();
  });
});
