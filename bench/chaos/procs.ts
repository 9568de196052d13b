// How the chaos run drives the real CLI: one `ott` process per command (demo/cli.ts's spawnOtt, the way
// the VMs run it), every exit recorded. One-shot commands run to completion; worker modes run as a pool
// with `--idle-exit-seconds` until every worker went idle, and a worker that dies on its own is started
// again after a pause, as systemd does (infra/systemd/ott@.service: Restart=always, RestartSec=15, never
// after exit 78), each such exit kept as a finding. A process that fails is
// never the end of the run: the next round runs its command again, as the operator's timers would.
import type { Pool } from 'mysql2/promise';
import { PROJECT, spawnOtt, type CliOptions, type DemoNames, type OttProcess, type Pipeline } from '../../demo/index.js';

export interface Exit {
  label: string;
  argv: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed by the run on purpose (the SIGKILLs, the stop of a stage that never went idle). */
  onPurpose: boolean;
  logFile: string;
  lastLines: string[];
}

export interface ChaosCtx {
  names: DemoNames;
  env: Record<string, string>;
  cli: CliOptions;
  /** The state table's database (diagnosis only: the run judges by the verifier, never by the table). */
  db: Pool;
  say(text: string): void;
  procs: OttProcess[];
  exits: Exit[];
}

/** Exited on its own with a failure: not 0, not our SIGTERM, not killed on purpose. */
export const failedExit = (e: Exit): boolean => !e.onPurpose && e.code !== 0;

export function startOtt(c: ChaosCtx, label: string, pipeline: Pipeline, argv: string[]): OttProcess & { onPurpose: boolean } {
  const p = Object.assign(spawnOtt(label, [...argv, '--gcp-project', PROJECT, '--config-key', c.names.configKey[pipeline]], c.cli), { onPurpose: false });
  c.procs.push(p);
  void p.exited.then(({ code, signal }) => {
    const lastLines = p.lines.filter((l) => !/NodeVersionSupportWarning|node >=22|^\s*$|^versions published|^To continue|^and security|^More information|trace-warnings/.test(l)).slice(-4);
    c.exits.push({ label, argv, code, signal, onPurpose: p.onPurpose, logFile: p.logFile, lastLines });
  });
  return p;
}

/** Runs `ott <argv>` to completion; returns the process (its exit is recorded, a failure is not thrown). */
export async function once(c: ChaosCtx, label: string, pipeline: Pipeline, argv: string[]): Promise<OttProcess> {
  const p = startOtt(c, label, pipeline, argv);
  const { code, signal } = await p.exited;
  if (code !== 0) c.say(`  ${label}: exited ${signal ?? `code ${code}`}: ${p.lines.slice(-2).join(' | ').slice(0, 300)}`);
  return p;
}

export interface PoolOptions {
  stage: string;
  pipeline: Pipeline;
  argv: string[];
  count: number;
  idleExitSeconds: number;
  timeoutMs: number;
  /** Pause before a failed worker is started again (systemd's RestartSec; default 5 s to keep runs short). */
  restartSeconds?: number;
}

export interface WorkerPool {
  /** Live workers now. */
  alive(): (OttProcess & { onPurpose: boolean })[];
  /** SIGKILLs one worker (on purpose) and starts its replacement in the same slot. */
  kill(w: OttProcess & { onPurpose: boolean }): Promise<void>;
  /** Ends the pool now: SIGTERM to every worker (a graceful drain), no restarts. */
  stop(): Promise<void>;
  /** Resolves when every slot's worker exited 0 (went idle) or the pool was stopped, or on timeout (then stops them). */
  done: Promise<{ timedOut: boolean; restarts: number }>;
}

export function workerPool(c: ChaosCtx, o: PoolOptions): WorkerPool {
  const argv = [...o.argv, '--idle-exit-seconds', String(o.idleExitSeconds)];
  let seq = 0;
  const start = (): OttProcess & { onPurpose: boolean } => startOtt(c, `${o.stage}#${++seq}`, o.pipeline, argv);
  const slots = Array.from({ length: o.count }, start);
  let restarts = 0;
  const run = async (i: number): Promise<void> => {
    for (;;) {
      const w = slots[i];
      const { code } = await w.exited;
      if (slots[i] !== w) continue; // replaced by kill(): wait for the replacement
      if (code === 0 || code === 78 || stopping) return;
      restarts++;
      c.say(`  ${w.label} exited ${code} on its own: starting it again in ${o.restartSeconds ?? 5} s (as systemd would)`);
      await new Promise((r) => setTimeout(r, (o.restartSeconds ?? 5) * 1000));
      if (stopping) return;
      slots[i] = start();
    }
  };
  let stopping = false;
  const done = (async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), o.timeoutMs)));
    const all = Promise.all(slots.map((_, i) => run(i)));
    const first = await Promise.race([all.then(() => 'ok' as const), timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      stopping = true;
      c.say(`  ${o.stage}: not idle within ${Math.round(o.timeoutMs / 1000)} s: stopping its workers`);
      for (const w of slots) w.onPurpose = true;
      await Promise.all(slots.map((w) => w.stop('SIGTERM', 20_000)));
      await all;
    }
    return { timedOut: first === 'timeout', restarts };
  })();
  return {
    alive: () => slots.filter((w) => !w.done()),
    stop: async () => {
      stopping = true;
      for (const w of slots) w.onPurpose = true;
      await Promise.all(slots.map((w) => w.stop('SIGTERM', 20_000)));
    },
    kill: async (w) => {
      const i = slots.indexOf(w);
      w.onPurpose = true;
      if (i >= 0) slots[i] = start();
      await w.stop('SIGKILL');
    },
    done,
  };
}
