// Child-process plumbing for the local cloud: free ports, spawning a service in its own process
// group, waiting until it answers, and killing every service we started on every exit path.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { openSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Service {
  name: string;
  pid: number;
  /** Kills the whole process group (SIGTERM, then SIGKILL after graceMs). Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Map<number, ChildProcess>();
let hooked = false;
let onChange: ((pids: number[]) => void) | undefined;

/** Lets the stack record the live PIDs on disk, so a later run can reap them if we die by SIGKILL. */
export function onLivePidsChange(fn: (pids: number[]) => void): void {
  onChange = fn;
}

function changed(): void {
  onChange?.([...live.keys()]);
}

/** Kills every process group still registered. Synchronous so it can run from 'exit'. */
export function killAllSync(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns true; throws naming `what` after timeoutMs. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, isDead?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = isDead?.();
    if (dead) throw new Error(`${what} exited before it was ready: ${dead}`);
    try {
      if (await probe()) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${what} was not ready within ${timeoutMs} ms`);
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout+stderr go here, so a failed start can be diagnosed without flooding the test output. */
  logFile: string;
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

export async function spawnService(opts: SpawnOptions): Promise<Service> {
  hookExit();
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(opts.cmd, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, METADATA_SERVER_DETECTION: 'none', ...opts.env },
    stdio: ['ignore', fd, fd],
    detached: true, // own process group: stop() kills Java children and wrappers alike
  });
  closeSync(fd);
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = `code ${code} signal ${signal} (log: ${opts.logFile})`;
      if (child.pid) live.delete(child.pid);
      changed();
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `${err.message} (log: ${opts.logFile})`;
      resolve();
    });
  });
  if (!child.pid) {
    await exited;
    throw new Error(`could not start ${opts.name}: ${exitInfo}`);
  }
  const pid = child.pid;
  live.set(pid, child);
  changed();
  const stop = async (graceMs = 3000): Promise<void> => {
    if (exitInfo !== undefined) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(opts.name, opts.ready, opts.readyTimeoutMs ?? 30_000, () => exitInfo);
  } catch (err) {
    await stop(500);
    throw err;
  }
  return { name: opts.name, pid, stop };
}

/** True when an HTTP GET on url answers at all (any status). */
export async function httpAnswers(url: string): Promise<boolean> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 1000);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(t);
  }
}

/** Runs a TypeScript entry point of ours as its own node process (used for the fixture servers). */
export function tsNodeArgs(entry: string, args: string[]): string[] {
  // Resolved here, not by the child: services run with their own temp dir as cwd.
  const loader = join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs');
  return ['--import', pathToFileURL(loader).href, entry, ...args];
}
