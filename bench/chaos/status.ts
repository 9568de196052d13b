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
 * Done as `ott status` tells it: its own `done` field when it has one (the verifier judges the rest);
 * without one, every subfolder checked equal and 100% of bytes and objects. Returns why not, or undefined.
 */
export function notDoneReason(s: StatusJson | undefined): string | undefined {
  if (!s?.phases || !s.total) return 'no status';
  const busy = Object.entries(s.phases).filter(([name, p]) => name !== 'checked equal' && p.subfolders > 0);
  const why: string[] = [];
  if (busy.length) why.push(busy.map(([name, p]) => `${p.subfolders} ${name}`).join(', '));
  if (s.total.bytesPercentDone !== 100 || s.total.objectsPercentDone !== 100) why.push(`${s.total.bytesPercentDone}% of bytes, ${s.total.objectsPercentDone}% of objects`);
  if (typeof s.done === 'boolean') return s.done ? undefined : `status.done is false${why.length ? ` (${why.join('; ')})` : ''}`;
  return why.length ? why.join('; ') : undefined;
}

/**
 * The archived objects status reports, wherever it puts them: a number or an `{ objects | count }` under a
 * key naming "archived" (top level or in `total`). Undefined when status says nothing about them.
 */
export function archivedInStatus(s: StatusJson | undefined): number | undefined {
  if (!s) return undefined;
  for (const holder of [s, (s.total ?? {}) as Record<string, unknown>]) {
    for (const [k, v] of Object.entries(holder)) {
      if (!/archived/i.test(k)) continue;
      if (typeof v === 'number') return v;
      if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        for (const f of ['objects', 'count', 'archivedObjects']) if (typeof o[f] === 'number') return o[f] as number;
      }
    }
  }
  return undefined;
}

export function statusLine(s: StatusJson | undefined): string {
  if (!s?.phases || !s.total) return 'no status';
  const phases = Object.entries(s.phases).filter(([, p]) => p.subfolders > 0).map(([n, p]) => `${n} ${p.subfolders}`).join(', ');
  return `${phases}; S3 ${s.total.s3Objects} objects/${s.total.s3Bytes} B, GCS ${s.total.gcsObjects}/${s.total.gcsBytes} B; ${s.total.bytesPercentDone}% bytes, ${s.total.objectsPercentDone}% objects`;
}
