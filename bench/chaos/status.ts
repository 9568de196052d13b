// What `ott status --json` says, read from the CLI's output as a script would, and held against the
// verifier: done or not, its totals, and its archived objects.
import { once, type ChaosCtx } from './procs.js';

interface PhaseTotals {
  subfolders: number;
  s3Bytes: number;
  gcsBytes: number;
  s3Objects: number;
  gcsObjects: number;
}

export interface StatusJson {
  phases?: Record<string, PhaseTotals>;
  total?: PhaseTotals & { bytesPercentDone?: number; objectsPercentDone?: number };
  done?: boolean;
  [k: string]: unknown;
}

/** `ott status --json`, parsed; undefined (with the reason said) when it failed or printed no JSON. */
export async function readStatus(c: ChaosCtx, label: string): Promise<StatusJson | undefined> {
  const p = await once(c, label, 'objects', ['status', '--json']);
  const text = p.lines.filter((l) => !/^\{"severity"/.test(l) && !/NodeVersionSupportWarning|node >=22|^versions published|^To continue|^and security|^More information|trace-warnings/.test(l)).join('\n');
  const start = text.indexOf('{');
  try {
    return JSON.parse(text.slice(start)) as StatusJson;
  } catch {
    c.say(`  ${label}: no JSON from ott status: ${text.slice(0, 300)}`);
    return undefined;
  }
}

/**
 * The objects status reports under a key matching `name` (e.g. /archived/), wherever it puts them: a number,
 * or `{ objects | count }`, at the top level or nested (`total.archived`, `excluded.archived`...).
 * Undefined when status says nothing about them.
 */
export function countInStatus(s: unknown, name: RegExp, depth = 3): number | undefined {
  if (!s || typeof s !== 'object' || depth === 0) return undefined;
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    if (name.test(k)) {
      if (typeof v === 'number') return v;
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        for (const f of ['objects', 'count']) if (typeof o[f] === 'number') return o[f] as number;
      }
    }
  }
  for (const v of Object.values(s as Record<string, unknown>)) {
    const hit = countInStatus(v, name, depth - 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

export const archivedInStatus = (s: StatusJson | undefined): number | undefined => countInStatus(s, /^archived/i);

/**
 * Done as `ott status` tells it: its own `done` field when it has one (the verifier judges the rest).
 * Without one: every subfolder checked equal, and 100% of objects and bytes, or short of 100% by exactly
 * the objects status itself reports as excluded (archived, unmigratable: in scope, never in GCS until
 * restored or renamed, so never "done" by the percentages). Returns why not, or undefined when done.
 */
export function notDoneReason(s: StatusJson | undefined): string | undefined {
  if (!s?.phases || !s.total) return 'no status';
  const busy = Object.entries(s.phases).filter(([name, p]) => name !== 'checked equal' && p.subfolders > 0);
  const why: string[] = [];
  if (busy.length) why.push(busy.map(([name, p]) => `${p.subfolders} ${name}`).join(', '));
  const excluded = (archivedInStatus(s) ?? 0) + (countInStatus(s, /^unmigratable/i) ?? 0);
  const full = s.total.bytesPercentDone === 100 && s.total.objectsPercentDone === 100;
  // Status either counts the excluded objects in its S3 totals (then GCS is short by exactly them) or beside
  // them (sql/007: in neither total, and in the done percentages' denominator): then GCS holds all the rest.
  const gap = s.total.s3Objects - s.total.gcsObjects;
  const beside = typeof (s as { excluded?: unknown }).excluded === 'object';
  const shortByExcluded = excluded > 0 && gap === (beside ? 0 : excluded);
  if (!full && !shortByExcluded) why.push(`${s.total.bytesPercentDone}% of bytes, ${s.total.objectsPercentDone}% of objects${excluded ? ` (${excluded} excluded)` : ''}`);
  if (typeof s.done === 'boolean') return s.done ? undefined : `status.done is false${why.length ? ` (${why.join('; ')})` : ''}`;
  return why.length ? why.join('; ') : undefined;
}

export function statusLine(s: StatusJson | undefined): string {
  if (!s?.phases || !s.total) return 'no status';
  const phases = Object.entries(s.phases).filter(([, p]) => p.subfolders > 0).map(([n, p]) => `${n} ${p.subfolders}`).join(', ');
  return `${phases}; S3 ${s.total.s3Objects} objects/${s.total.s3Bytes} B, GCS ${s.total.gcsObjects}/${s.total.gcsBytes} B; ${s.total.bytesPercentDone}% bytes, ${s.total.objectsPercentDone}% objects`;
}
