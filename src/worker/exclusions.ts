// syncCheck's and rsync's record of what their listing found it cannot migrate in a subfolder (archived
// objects, objects GCS cannot hold: src/common/source/unmigratable.ts): written on the row under the
// worker's claim (src/state/exclusions.ts), and logged with what to do, so neither is ever silent.
import type { Ctx } from '../common/context.js';
import { logExclusions, type Exclusions } from '../common/source/unmigratable.js';
import { recordWorkExclusions } from '../state/exclusions.js';
import { holderOf, type WorkMode } from '../state/leases.js';

/** Replaces the row's archived_* / unmigratable_* with this listing's; a lost claim is left to finishDir to report. */
export async function recordExclusions(work: Ctx, mode: WorkMode, dirKey: string, e: Exclusions): Promise<void> {
  await recordWorkExclusions(holderOf(work), mode, dirKey, e);
  logExclusions(work.log, mode, dirKey, e);
}
