// The faults a chaos run programs into the CDN fixture and the GCS emulator (test/stack/faults.ts), as one
// table: spread over the run by `after` (the Nth matching request), scoped to the run's buckets, and counted
// at the end by their hits (a rule that never fired injected nothing and is not counted).
import { addFaults, listFaults, type FaultRule } from '../../test/stack/faults.js';

/** A rule and whether its hits count as injected faults (delays only keep objects in flight for the kills). */
interface Planned {
  where: 'cdn' | 'gcs';
  name: string;
  rule: FaultRule;
  counts: boolean;
}

export interface FaultPlanOptions {
  s3Bucket: string;
  gcsBucket: string;
  root: string;
  /** Objects in the run: the spacing of the rules over the requests. */
  objects: number;
}

export function faultPlan(o: FaultPlanOptions): Planned[] {
  const plan: Planned[] = [];
  const cdn = (name: string, rule: FaultRule, counts = true): void => void plan.push({ where: 'cdn', name, rule: { ...rule, match: { bucket: o.s3Bucket, ...rule.match } }, counts });
  const gcs = (name: string, rule: FaultRule): void => void plan.push({ where: 'gcs', name, rule: { ...rule, match: { bucket: o.gcsBucket, ...rule.match } }, counts: true });
  // Spread: k rules of each kind at evenly spaced request numbers over about one GET per object, one per
  // 1,000 objects (a small run stays quick: each fault costs a retry's backoff).
  const k = Math.max(1, Math.round(o.objects / 1000));
  const at = (i: number, of: number, phase: number): number => Math.floor(((i + phase / 6) * o.objects) / (of + 1));
  for (let i = 0; i < k; i++) {
    cdn('CDN 503', { match: { op: 'get' }, after: at(i, k, 1), times: 2, action: { status: 503 } });
    cdn('CDN 502', { match: { op: 'get' }, after: at(i, k, 2), times: 1, action: { status: 502 } });
    cdn('CDN truncated body', { match: { op: 'get' }, after: at(i, k, 3), times: 1, action: { truncate: true } });
    cdn('CDN corrupted body', { match: { op: 'get' }, after: at(i, k, 4), times: 1, action: { corrupt: true } });
    cdn('CDN reset mid-body', { match: { op: 'get' }, after: at(i, k, 5), times: 1, action: { reset: 'mid-body' } });
    cdn('CDN slow answer', { match: { op: 'get' }, after: at(i, k, 0), times: 3, action: { delayMs: 2000 } }, false);
    gcs('GCS 503 on upload', { match: { op: 'upload' }, after: at(i, k, 1), times: 2, action: { status: 503 } });
    gcs('GCS reset before response', { match: { op: 'upload' }, after: at(i, k, 2), times: 1, action: { reset: 'before-response' } });
    gcs('GCS reset mid-body', { match: { op: 'upload' }, after: at(i, k, 3), times: 1, action: { reset: 'mid-body' } });
    gcs('GCS corrupted store', { match: { op: 'upload' }, after: at(i, k, 4), times: 1, action: { storeCorrupt: true } });
  }
  // Aimed at the shapes that take other code paths: the big multipart objects (ranged GETs, XML multipart
  // parts and completion) and an object directly under the root.
  cdn('CDN truncated body', { match: { op: 'get', prefix: `${o.root}big/uniform.bin` }, times: 1, action: { truncate: true } });
  cdn('CDN corrupted body', { match: { op: 'get', prefix: `${o.root}big/non-uniform-a.bin` }, times: 1, action: { corrupt: true } });
  cdn('CDN 503', { match: { op: 'get', prefix: `${o.root}root-level-file.txt` }, times: 2, action: { status: 503 } });
  gcs('GCS corrupted store', { match: { op: 'part' }, after: 1, times: 1, action: { storeCorrupt: true } });
  gcs('GCS 503 on upload', { match: { op: 'part' }, after: 3, times: 1, action: { status: 503 } });
  gcs('GCS reset before response', { match: { op: 'complete' }, times: 1, action: { reset: 'before-response' } });
  gcs('GCS 503 on upload', { match: { op: 'complete' }, after: 1, times: 1, action: { status: 503 } });
  return plan;
}

export interface Endpoints {
  cdn: string;
  gcs: string;
}

/** Programs the plan; returns the rule ids per fixture, so the count reads only this run's rules. */
export async function programFaults(e: Endpoints, plan: Planned[]): Promise<Map<string, Planned>> {
  const byId = new Map<string, Planned>();
  for (const where of ['cdn', 'gcs'] as const) {
    const mine = plan.filter((p) => p.where === where);
    const ids = await addFaults(e[where], mine.map((p) => p.rule));
    ids.forEach((id, i) => byId.set(`${where}:${id}`, mine[i]));
  }
  return byId;
}

export interface FaultCount {
  /** Injected faults by kind (hits of counted rules). */
  byName: Record<string, number>;
  total: number;
  /** Rules planned but never reached (e.g. a small run made fewer requests than their `after`). */
  unfired: number;
  /** Which, as `where name (match)`. */
  unfiredRules: string[];
}

export async function countFaults(e: Endpoints, buckets: { s3Bucket: string; gcsBucket: string }, programmed: Map<string, Planned>): Promise<FaultCount> {
  const out: FaultCount = { byName: {}, total: 0, unfired: 0, unfiredRules: [] };
  for (const [where, bucket] of [['cdn', buckets.s3Bucket], ['gcs', buckets.gcsBucket]] as const) {
    for (const r of await listFaults(e[where], bucket)) {
      const p = programmed.get(`${where}:${r.id}`);
      if (!p?.counts) continue;
      if (r.hits === 0) {
        out.unfired++;
        out.unfiredRules.push(`${where} ${p.name} (${JSON.stringify({ ...r.match, bucket: undefined, after: r.after })})`);
      }
      out.byName[p.name] = (out.byName[p.name] ?? 0) + r.hits;
      out.total += r.hits;
    }
  }
  return out;
}
