// Our engine (the default): list both sides (streaming merge, diff.ts), copy only missing or different
// objects through the CDN with cdnTransfer's verified copy path (no S3 egress), and, only when
// delete_unmatched is on, delete GCS objects S3 no longer has (that generation only, so an object
// rewritten meanwhile survives). A dry run prints the plan and changes nothing.
import type { Ctx } from '../../common/context.js';
import { classify } from '../../common/errors.js';
import { redact } from '../../common/redact.js';
import { createCopier, type Copier } from '../copy/index.js';
import { diffSubfolder } from '../diff.js';
import { emptyResult, type EngineResult, type RsyncEngine, type SyncOptions } from './engine.js';

const FAILURE_SAMPLE = 5;

/** Runs at most `limit` tasks at once; `add` waits for a free slot (backpressure on the listing). */
function pool(limit: number): { add(task: () => Promise<void>): Promise<void>; drain(): Promise<void> } {
  const running = new Set<Promise<void>>();
  return {
    async add(task) {
      while (running.size >= limit) await Promise.race(running);
      const p: Promise<void> = task().finally(() => running.delete(p));
      running.add(p);
    },
    async drain() {
      await Promise.all(running);
    },
  };
}

export function createCdnEngine(ctx: Ctx): RsyncEngine {
  let copier: Copier | undefined;
  const concurrency = ctx.config.transfer_concurrency;
  return {
    name: 'cdn',
    async sync(work: Ctx, dirKey: string, opts: SyncOptions): Promise<EngineResult> {
      const r = emptyResult();
      const failures: string[] = [];
      const note = (why: string): void => {
        r.failed++;
        if (failures.length < FAILURE_SAMPLE) failures.push(why);
      };
      const bucket = work.clients.gcs().bucket(work.config.gcs_bucket!);
      const tasks = pool(concurrency);
      // Whatever happens to the listing, copies already started finish before the subfolder is re-measured.
      try {
        for await (const item of diffSubfolder(work, dirKey)) {
          if (item.kind === 'same') continue;
          if (item.kind === 'extra') {
            if (!work.config.delete_unmatched) {
              if (opts.dryRun) opts.print(`keep   ${item.gcs.name} (not in S3; delete_unmatched is off)`);
              continue;
            }
            if (opts.dryRun) {
              opts.print(`delete ${item.gcs.name} (not in S3)`);
              continue;
            }
            const { name, generation } = item.gcs;
            await tasks.add(async () => {
              try {
                await bucket.file(name).delete(generation ? { ifGenerationMatch: Number(generation) } : {});
                r.deleted++;
              } catch (err) {
                note(`delete ${name}: ${classify(err).reason}`);
              }
            });
            continue;
          }
          const why = item.kind === 'missing' ? 'missing in GCS' : item.why;
          if (opts.dryRun) {
            opts.print(`copy   ${item.s3.key} (${why})`);
            continue;
          }
          copier ??= createCopier(ctx, { concurrency });
          const c = copier;
          const entry = item.s3;
          await tasks.add(async () => {
            const o = await c.copy(entry, work.signal);
            if (o.status === 'copied') r.copied++;
            else if (o.status === 'skipped') r.skipped++;
            else if (o.status === 'failed') note(`${o.key}: ${o.reason}`);
          });
        }
      } finally {
        await tasks.drain();
      }
      if (work.signal.aborted) throw work.signal.reason ?? new Error('aborted');
      if (r.failed) r.error = redact(`${r.failed} object(s) not repaired: ${failures.join('; ')}`).slice(0, 4000);
      return r;
    },
    async close() {
      await copier?.close();
    },
  };
}
