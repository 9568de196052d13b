// What an rsync engine does for one subfolder, and what it reports. The rsync mode owns the claim, the
// re-measure and the end state; an engine only makes GCS match S3 (or, in a dry run, says how it would).
import type { Ctx } from '../../common/context.js';

export interface EngineResult {
  /** Objects written to GCS (cdn engine; gcloud does not report counts). */
  copied: number;
  /** Objects already equal in GCS, or copied by someone else meanwhile. */
  skipped: number;
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
  return { copied: 0, skipped: 0, deleted: 0, failed: 0 };
}
