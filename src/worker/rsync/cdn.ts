// Our engine (the default): list both sides (streaming merge, diff.ts), copy only missing or different
// objects through the CDN with cdnTransfer's verified copy path (no S3 egress), and, only when
// delete_unmatched is on, delete GCS objects S3 no longer has (that generation only, so an object
// rewritten meanwhile survives). A dry run prints the plan and changes nothing. Objects the copy path
// skips are logged at DEBUG and counted per reason (skippedWhy), as cdnTransfer does.
import type { Ctx } from '../../common/context.js';
import { classify } from '../../common/errors.js';
import { createLimiter, type Limiter } from '../../common/limit.js';
import type { ObjectEntry } from '../../common/messages.js';
import { redact } from '../../common/redact.js';
import { RetriesExhaustedError } from '../../common/retry.js';
import { createCopier, type Copier } from '../copy/index.js';
import { diffSubfolder } from '../diff.js';
import { deleteGcsGeneration } from '../listing.js';
import { emptyResult, type EngineResult, type RsyncEngine, type SyncOptions } from './engine.js';

const FAILURE_SAMPLE = 5;

/** One subfolder's repair: its result, and the work started for it (at most `concurrency` at once). */
class Repair {
  readonly r = emptyResult();
  private readonly failures: string[] = [];

  constructor(
    private readonly work: Ctx,
    private readonly dirKey: string,
    readonly tasks: Limiter,
  ) {}

  private note(why: string): void {
    this.r.failed++;
    if (this.failures.length < FAILURE_SAMPLE) this.failures.push(why);
  }

  /** Starts the delete of exactly this generation; returns once it has started (backpressure on the listing). */
  delete(name: string, generation: string | undefined): Promise<void> {
    return this.tasks.start(async () => {
      try {
        await deleteGcsGeneration(this.work, name, generation);
        this.r.deleted++;
      } catch (err) {
        this.note(`delete ${name}: ${err instanceof RetriesExhaustedError ? err.message : classify(err).reason}`);
      }
    });
  }

  /** Starts the copy of one object; returns once it has started. The copier never throws. */
  copy(copier: Copier, entry: ObjectEntry): Promise<void> {
    return this.tasks.start(async () => {
      const o = await copier.copy(entry, this.work.signal);
      if (o.status === 'copied') this.r.copied++;
      else if (o.status === 'skipped') {
        this.r.skipped++;
        this.r.skippedWhy[o.why]++;
        this.work.log.debug('rsync: skipped', { dir_key: this.dirKey, key: o.key, why: o.why });
      } else if (o.status === 'failed') this.note(`${o.key}: ${o.reason}`);
    });
  }

  result(): EngineResult {
    if (this.r.failed) this.r.error = redact(`${this.r.failed} object(s) not repaired: ${this.failures.join('; ')}`).slice(0, 4000);
    return this.r;
  }
}

export function createCdnEngine(ctx: Ctx): RsyncEngine {
  let copier: Copier | undefined;
  const concurrency = ctx.config.transfer_concurrency;
  return {
    name: 'cdn',
    async sync(work: Ctx, dirKey: string, opts: SyncOptions): Promise<EngineResult> {
      // start() waits for a free slot: the listing is read no faster than objects are copied.
      const repair = new Repair(work, dirKey, createLimiter(concurrency));
      // Whatever happens to the listing, copies already started finish before the subfolder is re-measured.
      try {
        for await (const item of diffSubfolder(work, dirKey)) {
          if (item.kind === 'same') continue;
          // Left out by a filter: neither copied nor, whatever delete_unmatched says, deleted.
          if (item.kind === 'out-of-scope') {
            if (opts.dryRun && item.gcs) opts.print(`keep   ${item.gcs.name} (its source is out of scope: ${item.why})`);
            continue;
          }
          if (item.kind === 'extra') {
            if (!work.config.delete_unmatched) {
              if (opts.dryRun) opts.print(`keep   ${item.gcs.name} (not in S3; delete_unmatched is off)`);
            } else if (opts.dryRun) opts.print(`delete ${item.gcs.name} (not in S3)`);
            else await repair.delete(item.gcs.name, item.gcs.generation);
            continue;
          }
          if (opts.dryRun) opts.print(`copy   ${item.s3.key} (${item.kind === 'missing' ? 'missing in GCS' : item.why})`);
          else await repair.copy((copier ??= createCopier(ctx, { concurrency })), item.s3);
        }
      } finally {
        await repair.tasks.idle();
      }
      if (work.signal.aborted) throw work.signal.reason ?? new Error('aborted');
      return repair.result();
    },
    async close() {
      await copier?.close();
    },
  };
}
