// The runtime settings every side of the transfer benchmark runs under (V8's flags, glibc's malloc arenas):
// ours and the bare loops alike, so the limit is measured under the same collector and allocator as the
// worker it judges.
import { readFileSync } from 'node:fs';

/**
 * The environment the VMs' unit (infra/systemd/ott@.service) gives every ott process, read from the unit
 * itself once: one source.
 */
function unitEnvironment(): ReadonlyMap<string, string> {
  if (unitEnv === undefined) {
    const unit = readFileSync(new URL('../../infra/systemd/ott@.service', import.meta.url), 'utf8');
    unitEnv = new Map([...unit.matchAll(/^Environment="?([A-Z_][A-Z0-9_]*)=([^"\n]*)"?$/gm)].map((m) => [m[1], m[2].trim()]));
  }
  return unitEnv;
}
let unitEnv: ReadonlyMap<string, string> | undefined;

/** The unit's NODE_OPTIONS (the heap limit, the young generation's size): the worker here runs with the V8 settings it has in production. */
export function unitNodeOptions(): string {
  const v = unitEnvironment().get('NODE_OPTIONS');
  if (!v) throw new Error('infra/systemd/ott@.service sets no NODE_OPTIONS');
  return v;
}

/**
 * The unit's variables that shape the runtime besides V8's flags: glibc's malloc arenas. Not the rest of its
 * environment (HOME, NODE_ENV), which is the VM's, not the process's shape.
 */
const RUNTIME_VARIABLES = ['MALLOC_ARENA_MAX'] as const;

/** The unit's runtime settings as one line, for the benchmark's conditions. */
export function unitSettingsLabel(): string {
  const vars = RUNTIME_VARIABLES.flatMap((k) => (unitEnvironment().has(k) ? [`${k}=${unitEnvironment().get(k)}`] : []));
  return [`NODE_OPTIONS=${unitNodeOptions()}`, ...vars].join(' ');
}

/** NODE_OPTIONS for a side's process: this process's own (e.g. a profiler's), then the unit's. */
export function sideNodeOptions(): string {
  return [process.env.NODE_OPTIONS, unitNodeOptions()].filter(Boolean).join(' ');
}

/**
 * The environment of a side's process: this process's, with the unit's NODE_OPTIONS after its own and the
 * unit's runtime variables unless this process sets them (a probe's A/B, e.g. bench/probe/abWorker.ts).
 */
export function sideEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, NODE_OPTIONS: sideNodeOptions() };
  for (const k of RUNTIME_VARIABLES) {
    const v = process.env[k] ?? unitEnvironment().get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}
