// The reference's engine: `gcloud storage rsync --recursive s3://BUCKET/DIR gs://BUCKET/DIR` as a child
// process. An argument array, never a shell, so no key can inject anything; AWS credentials reach gcloud
// through its environment only (never argv, which any user can read in /proc); a private CLOUDSDK_CONFIG
// per run, so concurrent gcloud processes never fight over one config dir's lock; a timeout that kills
// the whole process group (gcloud forks Python workers); the redacted tail of stderr kept for rsync_error.
// Refused when an object filter is set: gcloud cannot apply them, so it would copy (and with
// delete_unmatched, delete) objects outside the configured scope.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ctx } from '../../common/context.js';
import { childProcessEnv } from '../../common/config/env.js';
import { ConfigError } from '../../common/config/validate.js';
import { gcsPrefix } from '../../common/naming.js';
import { redact } from '../../common/redact.js';
import { emptyResult, type EngineResult, type RsyncEngine, type SyncOptions } from './engine.js';

const STDERR_TAIL_BYTES = 4096;
const KILL_GRACE_MS = 5000;
/** gcloud storage expands these in URLs: a key holding one would address other objects. */
const WILDCARD = /[*?[\]]/;

export interface GcloudRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderrTail: string;
}

export function gcloudArgs(ctx: Ctx, dirKey: string, dryRun: boolean): string[] {
  const src = `s3://${ctx.config.s3_bucket}/${dirKey}`;
  const dst = `gs://${ctx.config.gcs_bucket}/${gcsPrefix(dirKey, ctx.config)}`;
  return ['storage', 'rsync', '--recursive', ...(ctx.config.delete_unmatched ? ['--delete-unmatched-destination-objects'] : []), ...(dryRun ? ['--dry-run'] : []), src, dst];
}

export function gcloudEnv(ctx: Ctx, configDir: string): NodeJS.ProcessEnv {
  const gcs = ctx.endpoints.gcs;
  return childProcessEnv({
    CLOUDSDK_CONFIG: configDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    ...(ctx.project ? { CLOUDSDK_CORE_PROJECT: ctx.project } : {}),
    AWS_ACCESS_KEY_ID: ctx.secrets.aws_key_id,
    AWS_SECRET_ACCESS_KEY: ctx.secrets.aws_key_secret,
    ...(ctx.endpoints.s3 ? { CLOUDSDK_STORAGE_S3_ENDPOINT_URL: ctx.endpoints.s3 } : {}),
    // Only against a local emulator: production gcloud authenticates as the VM's service account.
    ...(gcs ? { CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: gcs.endsWith('/') ? gcs : `${gcs}/`, CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true' } : {}),
  });
}

/** Runs gcloud with `args`; resolves when it exits, was killed on timeout, or on abort. */
export function runGcloud(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, signal: AbortSignal, onStderr?: (chunk: string) => void): Promise<GcloudRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('gcloud', args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let tail = '';
    let timedOut = false;
    const keep = (b: Buffer): void => {
      const s = b.toString('utf8');
      onStderr?.(s);
      tail = (tail + s).slice(-STDERR_TAIL_BYTES);
    };
    child.stderr.on('data', keep);
    child.stdout.on('data', (b: Buffer) => onStderr?.(b.toString('utf8'))); // drained, shown in a dry run
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const stop = (): void => {
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = (): void => stop();
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(new Error(`cannot start gcloud: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ code, signal: sig, timedOut, stderrTail: tail });
    });
  });
}

/** The object filters `gcloud storage rsync` cannot apply (the cdn engine lists through the shared filter). */
const FILTER_FIELDS = ['storage_class', 'last_modified_after', 'last_modified_before'] as const;

export function createGcloudEngine(ctx: Ctx): RsyncEngine {
  // Empty means no filter, as in objectFilter() (src/publisher/listObjects.ts).
  const set = FILTER_FIELDS.filter((f) => {
    const v = ctx.config[f];
    return Array.isArray(v) ? v.length > 0 : Boolean(v);
  });
  if (set.length) {
    throw new ConfigError(
      `rsync engine gcloud cannot apply the object filter${set.length > 1 ? 's' : ''} ${set.join(', ')} (set in the config): gcloud storage rsync ` +
        'would copy, and with delete_unmatched delete, objects outside that scope; nothing was run. Use rsync_engine cdn (or --engine cdn), which applies them.',
      set.map((f) => `${f}: set, but rsync engine gcloud cannot apply it`),
    );
  }
  return {
    name: 'gcloud',
    async sync(ctx: Ctx, dirKey: string, opts: SyncOptions): Promise<EngineResult> {
      const result = emptyResult();
      if (WILDCARD.test(dirKey)) {
        result.error = `gcloud engine cannot address ${JSON.stringify(dirKey)}: gcloud storage expands * ? [ ] as wildcards; use rsync_engine cdn`;
        return result;
      }
      const configDir = await mkdtemp(join(tmpdir(), 'ott-gcloud-'));
      try {
        const args = gcloudArgs(ctx, dirKey, opts.dryRun);
        const timeoutMs = ctx.config.rsync_timeout_seconds * 1000;
        ctx.log.info(`rsync: gcloud ${args.join(' ')}`, { dir_key: dirKey });
        const r = await runGcloud(args, gcloudEnv(ctx, configDir), timeoutMs, ctx.signal, opts.dryRun ? (s) => s.split('\n').filter(Boolean).forEach((l) => opts.print(redact(l))) : undefined);
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
        if (r.timedOut) result.error = `gcloud storage rsync timed out after ${ctx.config.rsync_timeout_seconds} s (rsync_timeout_seconds); stderr: ${redact(r.stderrTail)}`;
        else if (r.code !== 0) result.error = `gcloud storage rsync exited with ${r.code ?? r.signal}: ${redact(r.stderrTail)}`;
        return result;
      } finally {
        await rm(configDir, { recursive: true, force: true });
      }
    },
    close: async () => undefined,
  };
}
