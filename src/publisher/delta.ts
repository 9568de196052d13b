// publishObjectsList --delta, one subfolder: its objects list was published long ago, and S3 has moved on
// since (objects added, overwritten, deleted). Both sides are listed again and merged by the per-object
// diff every subfolder mode uses (src/worker/diff.ts, whose verdict is the copy path's own: copy/same.ts),
// and only what GCS lacks or holds in another version (size, or the source ETag / MD5 it was copied from)
// is handed on to be published: ETag change detection, as rclone and Storage Transfer Service have it.
// Objects the filters leave out are out of scope, neither published nor deleted. GCS objects whose S3
// source is gone are counted with a sample (recorded on the row, shown by `ott status`) and removed from
// GCS only when the operator opted in (--delete-unmatched, or config delete_unmatched).
import type { Ctx } from '../common/context.js';
import type { Logger } from '../common/log.js';
import { classify, httpStatus } from '../common/errors.js';
import type { ObjectEntry } from '../common/messages.js';
import type { FilterReason } from '../common/source/filter.js';
import { diffSubfolder } from '../worker/diff.js';
import { deleteGcsGeneration } from '../worker/listing.js';

/** GCS names kept per subfolder (on its row) and per run (in the summary) of objects gone from S3. */
export const GONE_SAMPLE = 10;

/** What one subfolder's delta found. */
export interface DeltaFindings {
  /** In S3, not in GCS: published. */
  newObjects: number;
  /** In both, another version in GCS: published. */
  changedObjects: number;
  /** Already in GCS as they are in S3: not published. */
  unchangedObjects: number;
  /** Left out by a filter, per filter: neither published nor deleted. */
  outOfScope: Partial<Record<FilterReason, number>>;
  /** In GCS, no longer in S3 (deleted after its copy). */
  goneObjects: number;
  /** Of those, removed from GCS (opt-in). */
  goneRemoved: number;
  goneSample: string[];
}

export function noFindings(): DeltaFindings {
  return { newObjects: 0, changedObjects: 0, unchangedObjects: 0, outOfScope: {}, goneObjects: 0, goneRemoved: 0, goneSample: [] };
}

/**
 * The objects of `dirKey` to publish (new or changed, in key order), streamed as the diff finds them;
 * everything else is counted into `f`. With `remove`, each GCS object whose source is gone is deleted,
 * that generation only (an object written again meanwhile stays); one already gone or rewritten is left
 * counted as gone but not removed. Any other delete failure fails the subfolder (released with the reason,
 * retried later).
 */
export async function* deltaEntries(ctx: Ctx, dirKey: string, f: DeltaFindings, opts: { remove: boolean }): AsyncGenerator<ObjectEntry> {
  for await (const item of diffSubfolder(ctx, dirKey)) {
    switch (item.kind) {
      case 'missing':
        f.newObjects++;
        ctx.log.debug('publishObjectsList --delta: new object', { dir_key: dirKey, key: item.s3.key });
        yield item.s3;
        break;
      case 'different':
        f.changedObjects++;
        ctx.log.debug('publishObjectsList --delta: changed object', { dir_key: dirKey, key: item.s3.key, why: item.why });
        yield item.s3;
        break;
      case 'same':
        f.unchangedObjects++;
        break;
      case 'out-of-scope':
        f.outOfScope[item.why] = (f.outOfScope[item.why] ?? 0) + 1;
        ctx.log.debug('publishObjectsList --delta: object filtered out', { key: item.s3.key, why: item.why });
        break;
      case 'extra':
        f.goneObjects++;
        if (f.goneSample.length < GONE_SAMPLE) f.goneSample.push(item.gcs.name);
        if (opts.remove && (await removeGone(ctx, item.gcs.name, item.gcs.generation))) f.goneRemoved++;
        break;
    }
  }
}

/** Deletes a gone object's listed generation; false when someone else deleted or rewrote it first. */
async function removeGone(ctx: Ctx, name: string, generation: string | undefined): Promise<boolean> {
  try {
    await deleteGcsGeneration(ctx, name, generation);
    ctx.log.info('publishObjectsList --delta: removed from GCS, its S3 source is gone', { name, generation });
    return true;
  } catch (err) {
    const status = httpStatus(err);
    if (status !== 404 && status !== 412) throw new Error(`removing gs://${ctx.config.gcs_bucket}/${name} (its S3 source is gone) failed: ${classify(err).reason}`, { cause: err });
    ctx.log.warn('publishObjectsList --delta: not removed, deleted or rewritten meanwhile', { name, generation, status });
    return false;
  }
}

/** A delta run's findings over its subfolders (the summary's objects/bytes/messages are what it published). */
export interface DeltaSummary {
  new_objects: number;
  changed_objects: number;
  unchanged_objects: number;
  /** GCS objects whose S3 source is gone (deleted after its copy). */
  gone_objects: number;
  /** Of those, removed from GCS (--delete-unmatched / delete_unmatched). */
  gone_removed: number;
  /** Whether gone objects were removed in this run. */
  remove_gone: boolean;
  gone_sample: { dir_key: string; name: string }[];
}

export function noDeltaSummary(removeGone: boolean): DeltaSummary {
  return { new_objects: 0, changed_objects: 0, unchanged_objects: 0, gone_objects: 0, gone_removed: 0, remove_gone: removeGone, gone_sample: [] };
}

/** One subfolder's findings into the run's summary (and the per-filter counts); objects gone from S3 are logged (WARN) with a sample. */
export function addFindings(log: Logger, d: DeltaSummary, filtered: Record<FilterReason, number>, dirKey: string, f: DeltaFindings): void {
  d.new_objects += f.newObjects;
  d.changed_objects += f.changedObjects;
  d.unchanged_objects += f.unchangedObjects;
  d.gone_objects += f.goneObjects;
  d.gone_removed += f.goneRemoved;
  for (const [why, n] of Object.entries(f.outOfScope)) filtered[why as FilterReason] += n;
  for (const name of f.goneSample) if (d.gone_sample.length < GONE_SAMPLE) d.gone_sample.push({ dir_key: dirKey, name });
  if (f.goneObjects > f.goneRemoved) {
    log.warn(`publishObjectsList --delta: ${f.goneObjects - f.goneRemoved} object(s) in GCS whose S3 source was deleted after its copy; kept (remove them with --delete-unmatched)`, {
      dir_key: dirKey,
      gone_objects: f.goneObjects,
      gone_removed: f.goneRemoved,
      sample: f.goneSample,
    });
  }
}
