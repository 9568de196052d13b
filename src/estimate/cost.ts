// What a migration costs by four routes, line by line, from a workload and a price list. Pure arithmetic:
// every line carries its quantity and where its price and its quantity come from, so the output can say
// plainly which numbers are list prices, which are assumptions and which were measured.
import type { Prices, Region } from './prices.js';

export const GIB = 1024 ** 3;

export type Basis = 'list price' | 'price override' | 'assumption' | 'measured' | 'extrapolated';

export interface CostLine {
  item: string;
  quantity: string;
  usd: number;
  /** Where the price comes from (list price, or the operator's override). */
  price: Basis;
  /** Where the quantity comes from. */
  quantityFrom: Basis;
}

export type RouteId = 'ott-cloudfront' | 'direct-s3' | 'sts-cloudfront' | 'sts-private-network';

export interface Route {
  id: RouteId;
  name: string;
  lines: CostLine[];
  usd: number;
  /** What the route leaves out, said once. */
  excludes?: string;
}

export interface CostInputs {
  objects: number;
  bytes: number;
  subfolders: number;
  avgKeyBytes: number;
  /** Where objects/bytes come from: the table (measured) or a sample (extrapolated). */
  workloadFrom: Basis;
  /** Calendar months the transfer spans: tiers restart each month, so the bytes are split evenly. */
  months: number;
  wallHours: number;
  vms: number;
  network: 'external-ip' | 'nat';
  cdnRegion: Region;
  stsRegion: Region;
  gcsStorageClass: string;
  keysPerMessage: number;
  /** Keys overridden by a price file are 'price override' instead of 'list price'. */
  overridden?: ReadonlySet<string>;
}

/** Cost of `gib` through tiers written as [width GiB | null for the rest, price per GiB]. */
export function tiered(gib: number, tiers: readonly (readonly [number | null, number])[]): number {
  let left = gib;
  let usd = 0;
  for (const [width, perGiB] of tiers) {
    const here = width === null ? left : Math.min(left, width);
    usd += here * perGiB;
    left -= here;
    if (left <= 0) break;
  }
  return usd;
}

/** Tiers restart every month: `months` equal months of `gib / months` each. */
export function tieredMonthly(gib: number, months: number, tiers: readonly (readonly [number | null, number])[]): number {
  const m = Math.max(1, Math.ceil(months));
  return m * tiered(gib / m, tiers);
}

const n = (v: number): string => Math.round(v).toLocaleString('en-US');
const gibText = (gib: number): string => `${n(gib)} GiB`;

/** Pub/Sub throughput: each message is published once and delivered once (one subscription). */
function pubsubBytes(i: CostInputs, minBytes: number): number {
  // Per key: its name plus ~120 bytes of JSON (size, quoted ETag, last-modified, field names): an assumption.
  const transferMessages = Math.ceil(i.objects / i.keysPerMessage);
  const perMessage = Math.max(minBytes, Math.min(i.keysPerMessage, i.objects || 1) * (i.avgKeyBytes + 120));
  const dirMessages = i.subfolders * 2; // one syncCheck, and a repair's rsync for some: an upper bound
  return 2 * (transferMessages * perMessage + dirMessages * Math.max(minBytes, 200));
}

export function costRoutes(i: CostInputs, p: Prices): Route[] {
  const src = (key: string): Basis => (i.overridden?.has(key) ? 'price override' : 'list price');
  const gib = i.bytes / GIB;
  const q = i.workloadFrom;
  const line = (item: string, quantity: string, usd: number, priceKey: string, quantityFrom: Basis = q): CostLine => ({ item, quantity, usd, price: src(priceKey), quantityFrom });
  const gcsA = p.gcs.classAPer1k[i.gcsStorageClass] ?? p.gcs.classAPer1k.STANDARD;
  const gcsB = p.gcs.classBPer1k[i.gcsStorageClass] ?? p.gcs.classBPer1k.STANDARD;
  const lists = Math.ceil(i.objects / 1000);

  const s3Requests = (listings: number): CostLine[] => [
    line('S3 GET requests (one per object)', `${n(i.objects)} requests`, (i.objects / 1000) * p.s3.getRequestsPer1k, 's3'),
    line(`S3 LIST requests (${listings} listing${listings > 1 ? 's' : ''} of every key)`, `${n(lists * listings)} requests`, ((lists * listings) / 1000) * p.s3.listRequestsPer1k, 's3'),
  ];
  const gcsWrites = (listings: number): CostLine[] => [
    line(`GCS class A: one upload per object (${i.gcsStorageClass})`, `${n(i.objects)} operations`, (i.objects / 1000) * gcsA, 'gcs'),
    line(`GCS class A: object listings (${listings} of every key)`, `${n(lists * listings)} operations`, ((lists * listings) / 1000) * gcsA, 'gcs'),
  ];
  const cdn = (): CostLine[] => [
    line(`CloudFront data transfer out (${i.cdnRegion}, tiers per month over ${Math.max(1, Math.ceil(i.months))} month(s))`, gibText(gib), tieredMonthly(gib, i.months, p.cloudfront.dataTransferOutPerGiB[i.cdnRegion]), 'cloudfront'),
    line('CloudFront HTTPS requests', `${n(i.objects)} requests`, (i.objects / 10_000) * p.cloudfront.httpsRequestsPer10k[i.cdnRegion], 'cloudfront'),
    line('S3 to CloudFront (origin fetch)', gibText(gib), gib * p.cloudfront.originFetchFromS3PerGiB, 'cloudfront'),
  ];

  const psBytes = pubsubBytes(i, p.pubsub.minimumBytesPerRequest);
  const ours: CostLine[] = [
    ...cdn(),
    ...s3Requests(2), // the publisher's listing, and syncCheck's
    ...gcsWrites(1), // syncCheck's listing
    line('GCS class B: one metadata read per object (the skip check)', `${n(i.objects)} operations`, (i.objects / 1000) * gcsB, 'gcs'),
    line(`Pub/Sub throughput (${i.keysPerMessage} keys a message, published and delivered)`, `${(psBytes / 1e12).toFixed(3)} TB`, (psBytes / 1024 ** 4) * p.pubsub.perTiB, 'pubsub', 'assumption'),
    line(`Compute: ${i.vms} x ${p.compute.vmType}`, `${n(i.vms * i.wallHours)} VM-hours`, i.vms * i.wallHours * p.compute.vmPerHour, 'compute', 'assumption'),
    line('Cloud SQL (the state table) for the run', `${n(i.wallHours)} hours`, i.wallHours * p.compute.cloudSqlPerHour, 'compute', 'assumption'),
    i.network === 'nat'
      ? line('Cloud NAT data processing (workers without external IPs)', gibText(gib), gib * p.network.cloudNatPerGiB + i.vms * i.wallHours * p.network.cloudNatPerVmHour, 'network')
      : line('Cloud NAT: none (workers with external IPs, no ingress; Google does not bill ingress)', '0 GiB', 0, 'network'),
    line('Secret Manager and Datastore reads (once per process start)', `${n(i.vms * 16 * 4)} reads`, ((i.vms * 16 * 4) / 10_000) * p.noise.secretAccessPer10k, 'noise', 'assumption'),
  ];
  const direct: CostLine[] = [
    line('S3 data transfer out to the internet (tiers per month)', gibText(gib), tieredMonthly(gib, i.months, p.s3.dataTransferOutPerGiB), 's3'),
    ...s3Requests(1),
    ...gcsWrites(1),
  ];
  const stsCdn: CostLine[] = [...cdn(), ...s3Requests(1), ...gcsWrites(1), line('Storage Transfer Service (agentless)', gibText(gib), gib * p.storageTransferService.agentlessPerGiB, 'storageTransferService')];
  const stsPrivate: CostLine[] = [
    line(`Storage Transfer Service managed private network (${i.stsRegion}); AWS egress not billed on this route`, gibText(gib), gib * p.storageTransferService.managedPrivateNetworkPerGiB[i.stsRegion], 'storageTransferService'),
    ...s3Requests(1),
    ...gcsWrites(1),
  ];
  const route = (id: RouteId, name: string, lines: CostLine[], excludes?: string): Route => ({ id, name, lines, usd: lines.reduce((s, l) => s + l.usd, 0), ...(excludes ? { excludes } : {}) });
  return [
    route('ott-cloudfront', 'ott through CloudFront (this tool)', ours),
    route('direct-s3', 'straight from S3 (rclone, gcloud storage rsync, Storage Transfer Service without a CDN)', direct, 'the VMs that run rclone or gcloud (Storage Transfer Service needs none)'),
    route('sts-cloudfront', 'Storage Transfer Service with cloudfrontDomain', stsCdn),
    route('sts-private-network', 'Storage Transfer Service over the managed private network', stsPrivate),
  ];
}
