// What is to be moved: the table's known sizes plus a sampled listing of subfolders not listed yet,
// extrapolated to the rest, with a size histogram and the pre-flight findings (what will not arrive as
// it is) seen in the sample.
import type { Ctx } from '../common/context.js';
import { gcsObjectName } from '../common/naming.js';
import { objectFilter } from '../common/source/filter.js';
import { s3Lister } from '../common/source/s3List.js';
import { knownSizes, sampleUnknown } from '../state/estimate.js';
import type { Basis } from './cost.js';

/** GCS's object size limit. */
export const GCS_MAX_OBJECT_BYTES = 5 * 1024 ** 4;
/** S3 classes CloudFront cannot read until restored (Intelligent-Tiering's archive tiers are not in a listing). */
export const ARCHIVED_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;

export const HISTOGRAM_BOUNDS = [0, 1024, 16 * 1024, 128 * 1024, 1024 ** 2, 16 * 1024 ** 2, 64 * 1024 ** 2, 1024 ** 3, 16 * 1024 ** 3, GCS_MAX_OBJECT_BYTES];
const LABELS = ['0 B', '<= 1 KiB', '<= 16 KiB', '<= 128 KiB', '<= 1 MiB', '<= 16 MiB', '<= 64 MiB', '<= 1 GiB', '<= 16 GiB', '<= 5 TiB', '> 5 TiB'];

export interface Bucket {
  label: string;
  objects: number;
  bytes: number;
}

export interface Finding {
  kind: 'over 5 TiB' | 'name GCS refuses' | 'archived' | 'not copied: ACLs and tags';
  objects: number;
  bytes: number;
  sample: string[];
  what: string;
  /** For archived objects: per storage class. */
  byClass?: Record<string, { objects: number; bytes: number }>;
}

export interface Workload {
  subfolders: number;
  objects: number;
  bytes: number;
  avgKeyBytes: number;
  from: Basis;
  known: { subfolders: number; objects: number; bytes: number };
  sampled: { subfolders: number; objects: number; bytes: number; outOfScopeObjects: number };
  /** Rows neither known nor sampled, whose sizes are the sample's mean times their count. */
  extrapolatedSubfolders: number;
  /** Rows of unknown size left out of every figure (no sample was listed): the totals are too low. */
  uncountedSubfolders: number;
  histogram: Bucket[];
  findings: Finding[];
}

/** Why GCS would refuse this object name, or null (the rules GCS applies to every upload). */
export function gcsNameProblem(name: string): string | null {
  if (/[\r\n]/.test(name)) return 'carriage return or line feed in the name';
  if (name === '.' || name === '..') return 'the name is "." or ".."';
  if (Buffer.byteLength(name) > 1024) return 'longer than 1,024 bytes';
  if (name.startsWith('.well-known/acme-challenge/')) return 'the .well-known/acme-challenge/ prefix';
  return null;
}

function bucketOf(size: number): number {
  const i = HISTOGRAM_BOUNDS.findIndex((b) => size <= b);
  return i === -1 ? HISTOGRAM_BOUNDS.length : i;
}

interface SampleStats {
  subfolders: number;
  objects: number;
  bytes: number;
  keyBytes: number;
  outOfScope: number;
  histogram: Bucket[];
  findings: Map<Finding['kind'], Finding>;
}

function finding(s: SampleStats, kind: Finding['kind'], what: string, key: string, size: number, cls?: string): void {
  const f = s.findings.get(kind) ?? { kind, objects: 0, bytes: 0, sample: [], what };
  f.objects++;
  f.bytes += size;
  if (f.sample.length < 5) f.sample.push(key);
  if (cls) {
    f.byClass ??= {};
    const c = (f.byClass[cls] ??= { objects: 0, bytes: 0 });
    c.objects++;
    c.bytes += size;
  }
  s.findings.set(kind, f);
}

async function listSample(ctx: Ctx, dirKeys: string[]): Promise<SampleStats> {
  const { config } = ctx;
  const list = s3Lister(ctx.clients.s3(), config.s3_bucket!, { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms });
  const inScope = objectFilter(config);
  const s: SampleStats = { subfolders: dirKeys.length, objects: 0, bytes: 0, keyBytes: 0, outOfScope: 0, histogram: LABELS.map((label) => ({ label, objects: 0, bytes: 0 })), findings: new Map() };
  for (const dirKey of dirKeys) {
    for await (const o of list(dirKey, ctx.signal)) {
      const cls = o.storage_class ?? 'STANDARD';
      if ((ARCHIVED_CLASSES as readonly string[]).includes(cls)) finding(s, 'archived', 'restore them in S3 (a restore request per object), then re-run; the cost is below', o.key, o.size, cls);
      if (!inScope(o).keep) {
        s.outOfScope++;
        continue;
      }
      s.objects++;
      s.bytes += o.size;
      s.keyBytes += Buffer.byteLength(o.key);
      const h = s.histogram[bucketOf(o.size)];
      h.objects++;
      h.bytes += o.size;
      if (o.size > GCS_MAX_OBJECT_BYTES) finding(s, 'over 5 TiB', 'GCS holds objects up to 5 TiB: split them at the source or leave them out', o.key, o.size);
      const why = gcsNameProblem(gcsObjectName(o.key, config));
      if (why) finding(s, 'name GCS refuses', `GCS refuses these names (${why}): rename at the source or map them with replace_key_parts`, o.key, o.size);
    }
  }
  return s;
}

function scaled(f: Finding, by: number): Finding {
  const byClass = f.byClass ? Object.fromEntries(Object.entries(f.byClass).map(([k, v]) => [k, { objects: Math.round(v.objects * by), bytes: Math.round(v.bytes * by) }])) : undefined;
  return { ...f, objects: Math.round(f.objects * by), bytes: Math.round(f.bytes * by), ...(byClass ? { byClass } : {}) };
}

/** Known sizes from the table; the rest from `sample` listed subfolders, scaled to the unknown rows. */
export async function measureWorkload(ctx: Ctx, opts: { sample: number; random?: () => number }): Promise<Workload> {
  const table = ctx.config.mysql_table;
  const known = await knownSizes(ctx.db, table);
  const unknown = known.subfolders - known.knownSubfolders;
  // The root's own row holds only the objects directly under it: a recursive listing would be the whole bucket.
  const picked = await sampleUnknown(ctx.db, table, Math.min(opts.sample, unknown), [ctx.config.s3_root_prefix], opts.random);
  const s = await listSample(ctx, picked);
  const rest = unknown - s.subfolders; // neither known nor listed
  const scale = s.subfolders ? unknown / s.subfolders : 0; // the sample stands for every unknown row
  const objects = known.knownObjects + s.objects * scale;
  const bytes = known.knownBytes + s.bytes * scale;
  const findings = [...s.findings.values()].map((f) => scaled(f, scale));
  findings.push({ kind: 'not copied: ACLs and tags', objects: 0, bytes: 0, sample: [], what: 'S3 object ACLs and tags are not carried over (GCS uses bucket IAM); listings do not show them, so they are not counted' });
  return {
    subfolders: known.subfolders,
    objects: Math.round(objects),
    bytes: Math.round(bytes),
    avgKeyBytes: s.objects ? s.keyBytes / s.objects : 100,
    from: rest > 0 ? 'extrapolated' : 'measured',
    known: { subfolders: known.knownSubfolders, objects: known.knownObjects, bytes: known.knownBytes },
    sampled: { subfolders: s.subfolders, objects: s.objects, bytes: s.bytes, outOfScopeObjects: s.outOfScope },
    extrapolatedSubfolders: s.subfolders ? rest : 0,
    uncountedSubfolders: s.subfolders ? 0 : unknown,
    histogram: s.histogram.map((b) => ({ ...b, objects: Math.round(b.objects * scale), bytes: Math.round(b.bytes * scale) })),
    findings,
  };
}
