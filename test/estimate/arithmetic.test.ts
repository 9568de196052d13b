// `ott estimate`'s arithmetic against figures computed by hand (in the comments), for a small table and a
// synthetic 1 PB / 3 billion-object migration whose bytes cross the CloudFront and S3 tier boundaries.
import { describe, expect, it } from 'vitest';
import { costRoutes, GIB, tiered, tieredMonthly, type CostInputs, type Route } from '../../src/estimate/cost.js';
import { loadPrices } from '../../src/estimate/prices.js';
import { GCS_RAMP, migrationDuration, rampedSeconds, vmsForDeadline, CLOUDFRONT_DEFAULT_BYTES_PER_SECOND } from '../../src/estimate/time.js';

const prices = loadPrices();
const PB = 1e15;
const PB_GIB = PB / GIB; // 931,322.574615... GiB
const line = (r: Route, starts: string): number => {
  const l = r.lines.find((x) => x.item.startsWith(starts));
  if (!l) throw new Error(`no line ${starts} in ${r.id}: ${r.lines.map((x) => x.item).join(' | ')}`);
  return l.usd;
};
const inputs = (over: Partial<CostInputs>): CostInputs => ({
  objects: 3e9,
  bytes: PB,
  subfolders: 1e6,
  avgKeyBytes: 80,
  workloadFrom: 'measured',
  months: 1,
  wallHours: 100,
  vms: 20,
  network: 'external-ip',
  cdnRegion: 'us',
  stsRegion: 'us',
  gcsStorageClass: 'STANDARD',
  keysPerMessage: 50,
  ...over,
});

describe('tiers', () => {
  it('CloudFront US, 1 PB in one month: five tiers crossed', () => {
    // 10,240 x 0.085 + 40,960 x 0.080 + 102,400 x 0.060 + 358,400 x 0.040 + (931,322.57 - 512,000) x 0.030
    // = 870.40 + 3,276.80 + 6,144.00 + 14,336.00 + 12,579.68 = 37,206.88
    expect(tiered(PB_GIB, prices.cloudfront.dataTransferOutPerGiB.us)).toBeCloseTo(37206.88, 1);
  });
  it('the same bytes over two months pay the upper tiers twice', () => {
    // each month 465,661.29 GiB: 870.40 + 3,276.80 + 6,144.00 + (465,661.29 - 153,600) x 0.040 = 22,773.65; x 2
    expect(tieredMonthly(PB_GIB, 1.4, prices.cloudfront.dataTransferOutPerGiB.us)).toBeCloseTo(45547.30, 1);
  });
  it('S3 to the internet, 1 PB in one month', () => {
    // 10,240 x 0.09 + 40,960 x 0.085 + 102,400 x 0.07 + (931,322.57 - 153,600) x 0.05 = 921.60 + 3,481.60 + 7,168 + 38,886.13
    expect(tiered(PB_GIB, prices.s3.dataTransferOutPerGiB)).toBeCloseTo(50457.33, 1);
  });
  it('below the first boundary, one price', () => {
    expect(tiered(5, prices.cloudfront.dataTransferOutPerGiB.us)).toBeCloseTo(0.425, 6);
  });
});

describe('routes', () => {
  it('1 PB / 3 billion objects: per-object lines and the routes by hand', () => {
    const routes = costRoutes(inputs({}), prices);
    const by = Object.fromEntries(routes.map((r) => [r.id, r]));
    const ours = by['ott-cloudfront'];
    expect(line(ours, 'CloudFront HTTPS requests')).toBeCloseTo(3000, 6); // 3e9 / 10,000 x $0.01
    expect(line(ours, 'S3 GET requests')).toBeCloseTo(1200, 6); // 3e9 / 1,000 x $0.0004
    expect(line(ours, 'S3 LIST requests')).toBeCloseTo(30, 6); // 2 listings x 3e6 pages / 1,000 x $0.005
    expect(line(ours, 'GCS class A: one upload')).toBeCloseTo(15000, 6); // 3e9 / 1,000 x $0.005
    expect(line(ours, 'GCS class B')).toBeCloseTo(1200, 6); // 3e9 / 1,000 x $0.0004
    expect(line(ours, 'Compute')).toBeCloseTo(20 * 100 * 0.536, 6);
    expect(line(ours, 'Cloud NAT')).toBe(0);
    // Pub/Sub: 6e7 messages x 50 x (80 + 120) B = 6e11 B, + 2e6 dir messages x 1,000 B = 2e9 B; published and delivered: x 2
    expect(line(ours, 'Pub/Sub')).toBeCloseTo(((2 * (6e11 + 2e9)) / 1024 ** 4) * 40, 6);
    // STS over the managed private network: 931,322.57 x 0.03 + S3 GET 1,200 + LIST 15 + GCS A 15,000 + 15
    expect(by['sts-private-network'].usd).toBeCloseTo(27939.68 + 1200 + 15 + 15000 + 15, 1);
    // Straight from S3: 50,457.33 + 1,200 + 15 + 15,000 + 15
    expect(by['direct-s3'].usd).toBeCloseTo(50457.33 + 1200 + 15 + 15000 + 15, 1);
    expect(by['sts-cloudfront'].usd).toBeCloseTo(37206.88 + 3000 + 1200 + 15 + 15000 + 15, 1);
  });

  it('behind Cloud NAT every byte pays the NAT', () => {
    const [ours] = costRoutes(inputs({ network: 'nat' }), prices);
    expect(line(ours, 'Cloud NAT')).toBeCloseTo(PB_GIB * 0.045 + 20 * 100 * 0.0014, 2); // ~41,909 + 2.80
  });

  it('a small table: 1,000 objects, 1 GiB, Nearline', () => {
    const [ours, direct] = costRoutes(inputs({ objects: 1000, bytes: GIB, subfolders: 2, gcsStorageClass: 'NEARLINE', vms: 1, wallHours: 1 }), prices);
    expect(line(ours, 'CloudFront data transfer out')).toBeCloseTo(0.085, 9);
    expect(line(ours, 'CloudFront HTTPS requests')).toBeCloseTo(0.001, 9);
    expect(line(ours, 'GCS class A: one upload')).toBeCloseTo(0.01, 9); // Nearline $0.01 / 1,000
    expect(line(direct, 'S3 data transfer out')).toBeCloseTo(0.09, 9);
    expect(line(ours, 'Cloud SQL')).toBeCloseTo(0.35, 9);
  });

  it('an override file section is marked as such, the rest stays a list price', () => {
    const routes = costRoutes(inputs({ overridden: new Set(['cloudfront']) }), prices);
    const ours = routes[0];
    expect(ours.lines.find((l) => l.item.startsWith('CloudFront data'))!.price).toBe('price override');
    expect(ours.lines.find((l) => l.item.startsWith('S3 GET'))!.price).toBe('list price');
  });
});

describe('time', () => {
  it('the GCS ramp: 1,000 writes/s doubling every 20 minutes up to a 24,000/s fleet', () => {
    // 5 periods of 1,200 s at 1,000, 2,000, 4,000, 8,000, 16,000/s = 37.2 M objects in 6,000 s,
    // then (3e9 - 37.2e6) / 24,000 = 123,450 s: 129,450 s in all.
    expect(rampedSeconds(3e9, 24_000, GCS_RAMP)).toBeCloseTo(129_450, 6);
    expect(rampedSeconds(3e9, 24_000, null)).toBeCloseTo(125_000, 6);
    expect(rampedSeconds(1.5e6, 24_000, GCS_RAMP)).toBeCloseTo(1_200 + 0.3e6 / 2000, 6); // 1.2 M in the 1st period, the rest at 2,000/s
  });

  it('the larger bound wins and says which', () => {
    const pace = { vms: 40, vmObjectsPerSecond: 600, vmBytesPerSecond: 200e6, ramp: GCS_RAMP, cdnBytesPerSecond: CLOUDFRONT_DEFAULT_BYTES_PER_SECOND };
    const d = migrationDuration({ objects: 3e9, bytes: PB }, pace);
    expect(d.bytesSeconds).toBeCloseTo(PB / 8e9, 3); // 125,000 s
    expect(d.objectsSeconds).toBeCloseTo(129_450, 3);
    expect(d).toMatchObject({ seconds: d.objectsSeconds, boundBy: 'gcs ramp' });
    const big = migrationDuration({ objects: 1000, bytes: PB }, { ...pace, vms: 1000 });
    expect(big.boundBy).toBe('cdn cap'); // 200 GB/s asked, 18.75 GB/s allowed
  });

  it('the fleet for a deadline, and a deadline no fleet meets', () => {
    const pace = { vmObjectsPerSecond: 600, vmBytesPerSecond: 200e6, ramp: GCS_RAMP, cdnBytesPerSecond: CLOUDFRONT_DEFAULT_BYTES_PER_SECOND };
    const w = { objects: 3e9, bytes: PB };
    const r = vmsForDeadline(w, pace, 14 * 86400);
    if (r.vms === null) throw new Error('expected a fleet');
    expect(migrationDuration(w, { ...pace, vms: r.vms }).seconds).toBeLessThanOrEqual(14 * 86400);
    expect(migrationDuration(w, { ...pace, vms: r.vms - 1 }).seconds).toBeGreaterThan(14 * 86400);
    const never = vmsForDeadline(w, pace, 3600);
    expect(never.vms).toBeNull();
  });
});
