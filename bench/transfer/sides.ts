// The sides a workload compares, each one measured run into a fresh GCS bucket and counted there:
// ours (the real `ott cdnTransfer`), the bare loops (verified, unverified, parallel ranges) and rclone.
import { join } from 'node:path';
import type { ObjectEntry } from '../../src/common/messages.js';
import type { Args, Workload } from './args.js';
import type { BareOptions } from './bare.js';
import type { BareParallelOptions } from './bareParallel.js';
import { runInChild } from './child.js';
import { KEY_PAIR_ID, setSigning, syntheticBase, type World } from './fixtures.js';
import { freshBucket, measured, timeoutFor, type Run } from './measure.js';
import { runRclone, runRcloneViaDisk } from './rclone.js';
import { prepare, runWorker } from './worker.js';

export interface Ctx {
  w: World;
  args: Args;
  /** The `ott` entry point (built main.js, or bin/ott.mjs through tsx). */
  entry: string;
}

/** Hands a workload's results lines to the writer (printed only unless the workload ran at full size). */
export type Emit = (tag: Workload, lines: string[]) => void;

/** The signature check lifted for the duration of `fn` (rclone cannot sign; the unverified loop does not). */
async function unsigned<T>(w: World, fn: () => Promise<T>): Promise<T> {
  await setSigning(w, false);
  try {
    return await fn();
  } finally {
    await setSigning(w, true);
  }
}

export interface OursOptions {
  processes?: number;
  extraConfig?: Record<string, unknown>;
  /** For the stuck-run limit: the slowest rate the run may go at. */
  minBytesPerS?: number;
}

/**
 * One run of the real worker. The GCS write ramp (a new bucket's pace, config gcs_ramp_*) is off: the
 * benchmark measures the copy path against the bare loops, which have no ramp; --ott-config can turn it on.
 */
export async function ours(c: Ctx, what: string, objects: ObjectEntry[], o: OursOptions = {}): Promise<Run> {
  const bucket = await freshBucket(c.w, what);
  const processes = o.processes ?? 1;
  const run = { entry: c.entry, name: bucket, bucket, processes, concurrency: c.args.concurrency, timeoutMs: timeoutFor(objects, o.minBytesPerS), extraConfig: { gcs_ramp_enabled: false, ...c.args.ottConfig, ...o.extraConfig } };
  return measured(c.w, `ours ${what} (${processes} proc)`, bucket, objects, () => runWorker(c.w, run, objects));
}

/** The worker's copy path alone (copyPath.ts), in lanes like the bare loop: no Pub/Sub, no MySQL counters. */
export async function oursCopyPath(c: Ctx, what: string, objects: ObjectEntry[]): Promise<Run> {
  const bucket = await freshBucket(c.w, what);
  const cfg = await prepare(c.w, { name: bucket, bucket, concurrency: c.args.concurrency, extraConfig: { gcs_ramp_enabled: false, ...c.args.ottConfig } }, objects, `unused-${bucket}`);
  return measured(c.w, `ours copy path ${what}`, bucket, objects, () => runInChild(copyPathModule, 'runCopyPath', [cfg, objects, c.args.concurrency], join(c.w.dir, `copypath-${bucket}.json`)));
}

export const copyPathModule = new URL('./copyPath.js', import.meta.url);
export const bareModule = new URL('./bare.js', import.meta.url);
export const bareParallelModule = new URL('./bareParallel.js', import.meta.url);

/** The bare undici loop at ours' concurrency; `verify: false` reads unsigned URLs and hashes nothing. */
export async function bare(c: Ctx, what: string, objects: ObjectEntry[], verify: boolean): Promise<Run> {
  const bucket = await freshBucket(c.w, what);
  const o: BareOptions = { cdnBase: syntheticBase(c.w), gcs: c.w.gcs, bucket, keyPairId: KEY_PAIR_ID, privateKeyPem: c.w.privateKeyPem, concurrency: c.args.concurrency, verify };
  const go = (): Promise<Run> => measured(c.w, `bare${verify ? '' : ' unverified'} ${what}`, bucket, objects, () => runInChild(bareModule, 'runBare', [o, objects], join(c.w.dir, `bare-${bucket}.json`)));
  return verify ? go() : unsigned(c.w, go);
}

/** The bare parallel-range loop on one object: `streams` parts in flight. */
export async function bareParallel(c: Ctx, what: string, e: ObjectEntry, streams: number, partMd5s: string[]): Promise<Run> {
  const bucket = await freshBucket(c.w, what);
  const o: BareParallelOptions = { cdnBase: syntheticBase(c.w), gcs: c.w.gcs, bucket, keyPairId: KEY_PAIR_ID, privateKeyPem: c.w.privateKeyPem, streams, partBytes: c.args.parallel.partBytes, partMd5s };
  return measured(c.w, `bare parallel ${what} ${streams} streams`, bucket, [e], () => runInChild(bareParallelModule, 'runBareParallel', [o, e], join(c.w.dir, `bare-${bucket}.json`)));
}

/** rclone's settings: flags after the common ones (source, destination, file list). */
export type RcloneSetting = string[];
export const rcloneLabel = (s: RcloneSetting): string => s.join(' ');

/** One `rclone copy :http: gcs:` (or through a local disk), unsigned, counted in GCS like the others. */
export async function rclone(c: Ctx, what: string, objects: ObjectEntry[], flags: RcloneSetting, viaDisk = false): Promise<Run> {
  const bucket = await freshBucket(c.w, `${what}-rclone`);
  const o = { cdnBase: syntheticBase(c.w), gcs: c.w.gcs, bucket, dir: c.w.dir, flags };
  const who = `rclone ${what}${viaDisk ? ' via local disk' : ''} ${rcloneLabel(flags)}`;
  return unsigned(c.w, () => measured(c.w, who, bucket, objects, () => (viaDisk ? runRcloneViaDisk(o, objects) : runRclone(o, objects))));
}

/** The --transfers sweep crossed with the flags that spare rclone per-file requests. */
export function rcloneTransfersSettings(transfers: number[]): RcloneSetting[] {
  const spare = [[], ['--http-no-head'], ['--no-check-dest'], ['--http-no-head', '--no-check-dest']];
  return transfers.flatMap((t) => spare.map((f) => ['--transfers', String(t), '--checkers', String(t), ...f]));
}
