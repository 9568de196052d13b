// What an rsync engine does for one subfolder, and what it reports. The rsync mode owns the claim, the
// re-measure and the end state; an engine only makes GCS match S3 (or, in a dry run, says how it would).
import type { Ctx } from '../../common/context.js';
import { SKIP_REASONS, type SkipReason } from '../copy/index.js';

export interface EngineResult {
  /** Objects written to GCS (cdn engine; gcloud does not report counts). */
  copied: number;
  /** Objects the copy path found already equal in GCS, or copied by someone else meanwhile. */
  skipped: number;
  /** `skipped` per reason (cdn engine; gcloud does not report counts). */
  skippedWhy: Record<SkipReason, number>;
  deleted: number;
  failed: number;
  /** Set when the engine failed: the reason stored in rsync_error (redacted, bounded). */
  error?: string;
}

export interface SyncOptions {
  dryRun: boolean;
  /** Where a dry run prints its plan (one line per action). */
  print: (line: string) => void;
}

export interface RsyncEngine {
  readonly name: 'cdn' | 'gcloud';
  /** Never throws for a failure of the copy itself: it returns `error`. Throws only on shutdown/abort. */
  sync(ctx: Ctx, dirKey: string, opts: SyncOptions): Promise<EngineResult>;
  close(): Promise<void>;
}

export function emptyResult(): EngineResult {
  return { copied: 0, skipped: 0, skippedWhy: noSkips(), deleted: 0, failed: 0 };
}

export function noSkips(): Record<SkipReason, number> {
  return Object.fromEntries(SKIP_REASONS.map((why) => [why, 0])) as Record<SkipReason, number>;
}

/** Adds `r`'s counts into `into` (the totals of a run over many subfolders). */
export function addResult(into: EngineResult, r: EngineResult): void {
  into.copied += r.copied;
  into.skipped += r.skipped;
  into.deleted += r.deleted;
  into.failed += r.failed;
  for (const why of SKIP_REASONS) into.skippedWhy[why] += r.skippedWhy[why];
}
