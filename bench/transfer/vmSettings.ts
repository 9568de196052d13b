// The V8 settings every side of the transfer benchmark runs under: ours and the bare loops alike, so the
// limit is measured under the same collector as the worker it judges.
import { readFileSync } from 'node:fs';

/**
 * The NODE_OPTIONS the VMs' unit gives every ott process (infra/systemd/ott@.service: the heap limit, the
 * young generation's size), so the worker here runs with the V8 settings it has in production. Read from
 * the unit itself: one source.
 */
export function unitNodeOptions(): string {
  if (unitOptions === undefined) {
    const unit = readFileSync(new URL('../../infra/systemd/ott@.service', import.meta.url), 'utf8');
    const m = /^Environment="?NODE_OPTIONS=([^"\n]*)"?$/m.exec(unit);
    if (!m) throw new Error('infra/systemd/ott@.service sets no NODE_OPTIONS');
    unitOptions = m[1].trim();
  }
  return unitOptions;
}
let unitOptions: string | undefined;

/** NODE_OPTIONS for a side's process: this process's own (e.g. a profiler's), then the unit's. */
export function sideNodeOptions(): string {
  return [process.env.NODE_OPTIONS, unitNodeOptions()].filter(Boolean).join(' ');
}
