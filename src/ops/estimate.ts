// `ott estimate`: before a run (after `dump`, from a sampled listing) or during one (from what the table
// has measured), what the migration will move, cost by four routes side by side, and take in time, with
// what will not arrive as it is. Every number says whether it is a list price, an assumption, measured or
// extrapolated.
import type { Ctx } from '../common/context.js';
import { humanBytes } from './status.js';
import { costRoutes, GIB, type Route, type RouteId } from '../estimate/cost.js';
import { loadPrices, type Prices, type Region } from '../estimate/prices.js';
import { CLOUDFRONT_DEFAULT_BYTES_PER_SECOND, GCS_RAMP, migrationDuration, vmsForDeadline, type Duration, type Pace } from '../estimate/time.js';
import { measureWorkload, type Workload } from '../estimate/workload.js';
import { measuredVmRate } from '../state/estimate.js';

/** Per-VM rates the runbook plans with until a pilot measures them (infra/README.md, sizing example). */
export const ASSUMED_VM_OBJECTS_PER_SECOND = 600;
export const ASSUMED_VM_BYTES_PER_SECOND = 200e6;

export interface EstimateOptions {
  sample: number;
  vms: number;
  vmObjectsPerSecond?: number;
  vmBytesPerSecond?: number;
  network: 'external-ip' | 'nat';
  cdnRegion: Region;
  stsRegion: Region;
  ramp: boolean;
  targetDays?: number;
  pricesFile?: string;
  random?: () => number;
}

export interface Estimate {
  table: string;
  workload: Workload;
  pace: Pace & { rates: 'assumed' | 'given' | 'measured'; measuredHosts?: number };
  duration: Duration;
  deadline?: { days: number; vms: number | null; floorDays?: number };
  routes: Route[];
  cheapest: RouteId;
  verdict: string;
  restore: { storageClass: string; objects: number; bytes: number; usd: number; tier: string; hours: string }[];
  caveats: string[];
  prices: { read: string; sources: string[]; overrideFile?: string };
}

const EGRESS_WAIVER =
  'AWS waives data transfer out to the internet for customers moving their data off AWS, on request to AWS Support before the move: ' +
  'if granted it removes the S3 egress line of the direct route. Not counted in any figure here.';

function overriddenSections(prices: Prices, file?: string): Set<string> {
  if (!file) return new Set();
  const base = loadPrices();
  return new Set(Object.keys(prices).filter((k) => JSON.stringify(prices[k as keyof Prices]) !== JSON.stringify(base[k as keyof Prices])));
}

function verdictOf(routes: Route[]): { cheapest: RouteId; verdict: string } {
  const by = Object.fromEntries(routes.map((r) => [r.id, r])) as Record<RouteId, Route>;
  const cheapest = [...routes].sort((a, b) => a.usd - b.usd)[0]; // stable: this tool first on a tie
  const ours = by['ott-cloudfront'];
  const direct = by['direct-s3'];
  const money = (v: number): string => `$${Math.round(Math.abs(v)).toLocaleString('en-US')}`;
  const parts = [`${ours.name}: ${money(ours.usd)}; straight from S3: ${money(direct.usd)}`];
  parts[0] += direct.usd - ours.usd >= 1 ? ` (this tool saves ${money(direct.usd - ours.usd)}).` : ours.usd - direct.usd >= 1 ? ` (this tool costs ${money(ours.usd - direct.usd)} more).` : ' (within $1).';
  if (ours.usd - cheapest.usd >= 1) parts.push(`Cheapest for this workload: ${cheapest.name}, ${money(cheapest.usd)}, ${money(ours.usd - cheapest.usd)} less than this tool.`);
  else parts.push('No route is $1 or more cheaper than this tool for this workload.');
  return { cheapest: ours.usd - cheapest.usd >= 1 ? cheapest.id : 'ott-cloudfront', verdict: parts.join(' ') };
}

export async function estimate(ctx: Ctx, o: EstimateOptions): Promise<Estimate> {
  const prices = loadPrices(o.pricesFile);
  const workload = await measureWorkload(ctx, { sample: o.sample, random: o.random });
  // Rates given on the command line win; else what the running fleet measures; else the runbook's assumption.
  const measured = o.vmObjectsPerSecond || o.vmBytesPerSecond ? null : await measuredVmRate(ctx.db, ctx.config.mysql_table);
  const rates = o.vmObjectsPerSecond || o.vmBytesPerSecond ? 'given' : measured ? 'measured' : 'assumed';
  const pace = {
    vms: o.vms,
    vmObjectsPerSecond: o.vmObjectsPerSecond ?? measured?.objectsPerSecond ?? ASSUMED_VM_OBJECTS_PER_SECOND,
    vmBytesPerSecond: o.vmBytesPerSecond ?? measured?.bytesPerSecond ?? ASSUMED_VM_BYTES_PER_SECOND,
    ramp: o.ramp ? GCS_RAMP : null,
    cdnBytesPerSecond: CLOUDFRONT_DEFAULT_BYTES_PER_SECOND,
    rates,
    ...(measured ? { measuredHosts: measured.hosts } : {}),
  } as const;
  const duration = migrationDuration(workload, pace);
  const hours = duration.seconds / 3600;
  const routes = costRoutes(
    {
      objects: workload.objects,
      bytes: workload.bytes,
      subfolders: workload.subfolders,
      avgKeyBytes: workload.avgKeyBytes,
      workloadFrom: workload.from,
      months: hours / (24 * 30.44),
      wallHours: hours,
      vms: o.vms,
      network: o.network,
      cdnRegion: o.cdnRegion,
      stsRegion: o.stsRegion,
      gcsStorageClass: ctx.config.gcs_storage_class ?? 'STANDARD',
      keysPerMessage: ctx.config.num_single_message,
      overridden: overriddenSections(prices, o.pricesFile),
    },
    prices,
  );
  const archived = workload.findings.find((f) => f.kind === 'archived');
  const restore = Object.entries(archived?.byClass ?? {}).map(([storageClass, v]) => {
    const r = prices.s3.restore[storageClass] ?? { tier: 'unknown', perGiB: 0, requestsPer1k: 0, hours: '?' };
    return { storageClass, ...v, usd: (v.bytes / GIB) * r.perGiB + (v.objects / 1000) * r.requestsPer1k, tier: r.tier, hours: r.hours };
  });
  let deadline: Estimate['deadline'];
  if (o.targetDays) {
    const d = vmsForDeadline(workload, pace, o.targetDays * 86400);
    deadline = d.vms === null ? { days: o.targetDays, vms: null, floorDays: d.floorSeconds / 86400 } : { days: o.targetDays, vms: d.vms };
  }
  const caveats = [EGRESS_WAIVER];
  if (rates === 'assumed') caveats.push(`Per-VM rates are assumptions (${ASSUMED_VM_OBJECTS_PER_SECOND} objects/s, ${ASSUMED_VM_BYTES_PER_SECOND / 1e6} MB/s): measure them in a pilot and pass --vm-objects-per-second / --vm-mib-per-second.`);
  if (workload.uncountedSubfolders > 0) caveats.push(`${workload.uncountedSubfolders.toLocaleString('en-US')} subfolders of unknown size are left out of every figure (no sample listed): the totals are too low.`);
  caveats.push('Tiers are per calendar month and per account: other traffic on the same AWS account shares them. Free tiers are not counted.');
  const sections = [prices.cloudfront, prices.s3, prices.storageTransferService, prices.gcs, prices.pubsub, prices.network, prices.compute, prices.noise];
  return {
    table: ctx.config.mysql_table,
    workload,
    pace,
    duration,
    ...(deadline ? { deadline } : {}),
    routes,
    ...verdictOf(routes),
    restore,
    caveats,
    prices: { read: prices.read, sources: sections.map((s) => `${s.source} (read ${s.read})`), ...(o.pricesFile ? { overrideFile: o.pricesFile } : {}) },
  };
}

const usd = (v: number): string => `$${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)}`;
const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const days = (s: number): string => (s >= 2 * 86400 ? `${(s / 86400).toFixed(1)} days` : `${(s / 3600).toFixed(1)} hours`);

export function renderEstimate(e: Estimate): string {
  const w = e.workload;
  const out: string[] = [];
  out.push(`ott estimate: table ${e.table}`);
  out.push('');
  out.push(`Workload (${w.from}): ${int(w.subfolders)} subfolders, ${int(w.objects)} objects, ${humanBytes(w.bytes)}`);
  out.push(`  known from the table: ${int(w.known.subfolders)} subfolders (${int(w.known.objects)} objects, ${humanBytes(w.known.bytes)}); listed now: ${int(w.sampled.subfolders)} (${int(w.sampled.objects)} objects, ${humanBytes(w.sampled.bytes)}); extrapolated: ${int(w.extrapolatedSubfolders)}`);
  if (w.histogram.some((b) => b.objects > 0)) {
    out.push('  sizes (from the listed sample, scaled):');
    for (const b of w.histogram) if (b.objects > 0) out.push(`    ${b.label.padEnd(11)} ${int(b.objects).padStart(15)} objects ${humanBytes(b.bytes).padStart(11)}`);
  }
  out.push('');
  out.push('Pre-flight: what will not arrive as it is');
  // Keys are JSON-quoted (a newline or an escape sequence in a key cannot forge a line) and shortened.
  const shown = (k: string): string => JSON.stringify(k.length > 60 ? `${k.slice(0, 40)}...${k.slice(-12)}` : k);
  for (const f of w.findings) out.push(`  ${f.kind}: ${f.objects ? `${int(f.objects)} objects, ${humanBytes(f.bytes)}${f.sample.length ? ` (e.g. ${f.sample.map(shown).join(', ')})` : ''}: ` : ''}${f.what}`);
  for (const r of e.restore) out.push(`    restore ${r.storageClass} (${r.tier}, ${r.hours} h): ${usd(r.usd)} for ${int(r.objects)} objects`);
  out.push('');
  const p = e.pace;
  out.push(`Time (${p.rates} rates${p.measuredHosts ? `, from the ${p.measuredHosts} VM(s) running now` : ''}): ${p.vms} VMs x ${int(p.vmObjectsPerSecond)} objects/s, ${int(p.vmBytesPerSecond / 1e6)} MB/s each${p.ramp ? `; GCS ramp from ${int(p.ramp.startWritesPerSecond)} writes/s doubling every ${p.ramp.doublingMinutes} min` : ''}`);
  out.push(`  ${days(e.duration.seconds)}, bound by ${e.duration.boundBy} (objects ${days(e.duration.objectsSeconds)}, bytes ${days(e.duration.bytesSeconds)})`);
  if (e.deadline) {
    out.push(
      e.deadline.vms === null
        ? `  ${e.deadline.days} days is not reachable with any fleet: the floor is ${e.deadline.floorDays!.toFixed(1)} days (GCS ramp / CloudFront cap)`
        : `  to finish within ${e.deadline.days} days: ${e.deadline.vms} VMs`,
    );
  }
  out.push('');
  out.push('Cost by route (USD):');
  for (const r of e.routes) {
    out.push(`  ${r.name}: ${usd(r.usd)}${r.excludes ? ` (not counted: ${r.excludes})` : ''}`);
    for (const l of r.lines) out.push(`    ${usd(l.usd).padStart(10)}  ${l.item}: ${l.quantity} [price: ${l.price}; quantity: ${l.quantityFrom}]`);
  }
  out.push('');
  out.push(e.verdict);
  for (const c of e.caveats) out.push(`Caveat: ${c}`);
  out.push(`Prices (read ${e.prices.read}${e.prices.overrideFile ? `, overridden by ${e.prices.overrideFile}` : ''}): ${e.prices.sources.join('; ')}`);
  return out.join('\n');
}
