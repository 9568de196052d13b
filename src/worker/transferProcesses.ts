// `cdnTransfer --processes N`: the parent forks N copies of this same command (each with --processes 1),
// forwards each SIGTERM/SIGINT to them (the first starts their graceful stop, a second makes them exit at
// once), restarts a child that crashed, and exits when all children have exited. Children run in their
// own process group, so a terminal's Ctrl-C reaches only the parent (and through it each child); a child
// whose parent dies shuts itself down gracefully. A child that exits 78 (EX_CONFIG, src/commands/runMode.ts)
// is not restarted: every child reads the same config, so a restart would fail the same way every 5 s
// forever; the parent stops the others and exits 78 itself, so systemd sees a config error.
import { fork, type ChildProcess } from 'node:child_process';
import { redact } from '../common/redact.js';

const RESTART_DELAY_MS = 5000;
const EX_CONFIG = 78;

function say(message: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(redact(JSON.stringify({ severity: 'INFO', message, time: new Date().toISOString(), ...fields })) + '\n');
}

/** Runs `n` children of `entry` with `args`; resolves with the exit code for the parent. */
export function runProcesses(n: number, entry: string, args: string[]): Promise<number> {
  const children = new Set<ChildProcess>();
  let stopping = false;
  let worst = 0;
  let configError = false;
  return new Promise((resolve) => {
    const maybeDone = (): void => {
      if (children.size === 0 && (stopping || pendingRestarts === 0)) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve(configError ? EX_CONFIG : worst);
      }
    };
    let pendingRestarts = 0;
    const stopAll = (): void => {
      stopping = true;
      for (const c of children) c.kill('SIGTERM');
    };
    const start = (slot: number): void => {
      // Its slot: a child serving metrics listens on the metrics port + slot (src/commands/metricsOptions.ts).
      const child = fork(entry, [...args, '--process-slot', String(slot)], { execArgv: process.execArgv, stdio: 'inherit', detached: true });
      children.add(child);
      say('cdnTransfer: worker process started', { slot, pid: child.pid });
      child.on('exit', (code, signal) => {
        children.delete(child);
        const failed = code !== 0;
        if (failed) worst = Math.max(worst, code ?? 1);
        if (code === EX_CONFIG && !configError) {
          configError = true;
          say('cdnTransfer: worker process refused its config (exit 78); stopping the other worker processes and exiting 78, not restarting', {
            slot,
            processes: children.size,
          });
          stopAll();
        } else if (failed && !stopping) {
          say('cdnTransfer: worker process died; restarting it', { slot, code, signal, restart_in_ms: RESTART_DELAY_MS });
          pendingRestarts++;
          setTimeout(() => {
            pendingRestarts--;
            if (stopping) return maybeDone();
            start(slot);
          }, RESTART_DELAY_MS); // not unref'd: while it is pending nothing else may keep the parent alive
        }
        maybeDone();
      });
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      say('cdnTransfer: forwarding shutdown to worker processes', { signal: sig, processes: children.size });
      stopAll();
      maybeDone();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    say('cdnTransfer: starting worker processes', { processes: n });
    for (let i = 0; i < n; i++) start(i);
  });
}
