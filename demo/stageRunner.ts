// How a stage runs the real CLI: one-shot commands (migrate, dump, the publishers) run to completion and
// must exit 0; worker modes (cdnTransfer, syncCheck, rsync) are long-running subscribers, started in the
// background, watched through the state table and GCS until the stage is done, then stopped with SIGTERM
// (a graceful drain). Every wait has a timeout that fails loudly with what was still missing.
import type { Pool } from 'mysql2/promise';
import { spawnOtt, type CliOptions, type OttProcess } from './cli.js';
import { PROJECT, type DemoNames, type Pipeline } from './setupCloud.js';

export interface RunContext {
  names: DemoNames;
  env: Record<string, string>;
  cli: CliOptions;
  /** The state table's database, as the demo's own MySQL user. */
  db: Pool;
  /** Commands `ott --help` lists in this checkout. */
  commands: Set<string>;
  /** Progress output (the demo prints, the test collects). */
  say(text: string): void;
  /** Every process started, so a failure can stop them all. */
  procs: OttProcess[];
}

/** A piece of the pipeline this checkout does not have (yet): the demo names it and stops. */
export class MissingPieceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingPieceError';
  }
}

export function requireCommand(rc: RunContext, command: string, stage: string): void {
  if (!rc.commands.has(command)) {
    throw new MissingPieceError(
      `stage "${stage}" needs \`ott ${command}\`, which this checkout's CLI does not offer (ott --help lists: ${[...rc.commands].sort().join(', ') || 'nothing'})`,
    );
  }
}

function globalArgs(rc: RunContext, pipeline: Pipeline): string[] {
  return ['--gcp-project', PROJECT, '--config-key', rc.names.configKey[pipeline]];
}

/** Runs `ott <argv>` to completion; a non-zero exit fails the stage, quoting the process's last lines. */
export async function runOnce(rc: RunContext, label: string, pipeline: Pipeline, argv: string[]): Promise<OttProcess> {
  requireCommand(rc, argv[0], label);
  const p = spawnOtt(label, [...argv, ...globalArgs(rc, pipeline)], rc.cli);
  rc.procs.push(p);
  const { code, signal } = await p.exited;
  if (code !== 0) {
    throw new Error(`\`ott ${argv.join(' ')}\` (${label}) exited with ${signal ?? `code ${code}`}; log ${p.logFile}; last lines:\n  ${p.lines.slice(-8).join('\n  ')}`);
  }
  return p;
}

/** Starts one background worker process. */
export function startWorker(rc: RunContext, label: string, pipeline: Pipeline, argv: string[]): OttProcess {
  requireCommand(rc, argv[0], label);
  const p = spawnOtt(label, [...argv, ...globalArgs(rc, pipeline)], rc.cli);
  rc.procs.push(p);
  return p;
}

export interface StageProgress {
  done: boolean;
  /** One line for the operator: counts so far. */
  text: string;
}

export interface WorkersOptions {
  stage: string;
  pipeline: Pipeline;
  argv: string[];
  count: number;
  /** Polled until it says done (state table, GCS, error topic). */
  progress: () => Promise<StageProgress>;
  timeoutMs: number;
  pollMs?: number;
  /** Called right after the workers are spawned, while they load (publishing overlaps their start-up). */
  afterSpawn?: () => Promise<void>;
  /** Called after the workers start: the e2e test kills one here; more may be started through rc. */
  onStarted?: (workers: OttProcess[]) => Promise<void>;
  /** Called when progress stalls for republishEveryMs (rows given back by busy workers get sent again). */
  republish?: () => Promise<void>;
  republishEveryMs?: number;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Starts `count` workers, waits until `progress` says done, then stops them with SIGTERM and checks they
 * exited cleanly. Workers that the caller kills on purpose are excluded from the clean-exit check.
 */
export async function runWorkers(rc: RunContext, o: WorkersOptions): Promise<{ workers: OttProcess[]; last: StageProgress }> {
  const workers: OttProcess[] = [];
  for (let i = 1; i <= o.count; i++) workers.push(startWorker(rc, `${o.stage}#${i}`, o.pipeline, o.argv));
  const killedOnPurpose = new Set<OttProcess>();
  if (o.afterSpawn) await o.afterSpawn();
  const before = new Set(rc.procs);
  if (o.onStarted) await o.onStarted(workers);
  // Processes the hook started (replacements) join the pool; those it killed are excused.
  for (const p of rc.procs) if (!before.has(p) && !workers.includes(p)) workers.push(p);
  for (const w of workers) if (w.done()) killedOnPurpose.add(w);

  const deadline = Date.now() + o.timeoutMs;
  let last: StageProgress = { done: false, text: '' };
  let lastSaid = 0;
  // Republishing happens in the background, and only when progress has stalled: a CLI start costs
  // seconds of CPU the workers need, and while it runs the polling must go on.
  let progressAt = Date.now();
  let republishing: Promise<void> | undefined;
  let republishError: unknown;
  for (;;) {
    const prev = last.text;
    last = await o.progress();
    if (last.done) break;
    if (last.text !== prev) progressAt = Date.now();
    if (republishError) throw new Error(`${o.stage}: republishing failed: ${(republishError as Error).message}`);
    const alive = workers.filter((w) => !w.done());
    if (alive.length === 0) {
      const why = workers.map((w) => `${w.label}: ${w.lines.slice(-3).join(' | ')}`).join('\n  ');
      throw new Error(`${o.stage}: every worker exited before the stage was done (${last.text}):\n  ${why}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${o.stage}: not done within ${Math.round(o.timeoutMs / 1000)} s (${last.text}); worker logs: ${workers.map((w) => w.logFile).join(', ')}`);
    }
    if (Date.now() - lastSaid > 3000) {
      rc.say(`${o.stage}: ${last.text}`);
      lastSaid = Date.now();
    }
    if (o.republish && !republishing && Date.now() - progressAt > (o.republishEveryMs ?? 10_000)) {
      republishing = o.republish().then(
        () => void (republishing = undefined),
        (err: unknown) => void (republishError = err),
      );
      progressAt = Date.now();
    }
    await sleep(o.pollMs ?? 500);
  }
  await republishing;
  rc.say(`${o.stage}: ${last.text}; stopping ${workers.filter((w) => !w.done()).length} worker(s) with SIGTERM`);
  const results = await Promise.all(workers.map(async (w) => ({ w, early: w.done(), r: await w.stop('SIGTERM') })));
  // Clean: 0 (or 128+signal from a handler that re-raises) after our SIGTERM. A worker SIGKILLed before
  // the stop was killed on purpose (by a test); one that exited early on its own is a failure.
  const unclean = results.filter(({ w, early, r }) => {
    if (killedOnPurpose.has(w) || (early && r.signal === 'SIGKILL')) return false;
    return early || !(r.code === 0 || r.code === 130 || r.code === 143 || r.signal === 'SIGTERM');
  });
  if (unclean.length) {
    throw new Error(`${o.stage}: worker(s) did not run until stopped and exit cleanly on SIGTERM: ${unclean.map(({ w, r }) => `${w.label} (${r.signal ?? `code ${r.code}`}, log ${w.logFile})`).join(', ')}`);
  }
  return { workers, last };
}

/** The database clock (UTC), truncated to the second as DATETIME columns store it. */
export async function dbNow(db: Pool): Promise<string> {
  const [rows] = (await db.query('SELECT DATE_FORMAT(UTC_TIMESTAMP(), "%Y-%m-%d %H:%i:%s") AS now')) as unknown as [{ now: string }[]];
  return rows[0].now;
}

export async function stopAll(rc: RunContext): Promise<void> {
  await Promise.all(rc.procs.filter((p) => !p.done()).map((p) => p.stop('SIGTERM', 5000)));
}
