// CPU time per process tree, from /proc: on a shared 2-core machine wall-clock rates swing with other
// work, while CPU spent per object by each side (and by the fixture servers) does not. Linux only.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** A process's or thread's name and utime + stime in ms from its stat file, or undefined once it is gone. */
function readStat(path: string): { name: string; ms: number } | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ms: ((Number(f[11]) + Number(f[12])) / TICKS_PER_S) * 1000 }; // fields 14 and 15 of stat(5)
  } catch {
    return undefined;
  }
}

/** utime + stime of one process in ms, or undefined once it is gone. */
export function processCpuMs(pid: number): number | undefined {
  return readStat(`/proc/${pid}/stat`)?.ms;
}

/** Each thread of a process by name and CPU in ms (Node 24 names its threads: MainThread, V8Worker...); [] once it is gone. */
export function threadCpuMs(pid: number): { name: string; ms: number }[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readStat(`/proc/${pid}/task/${tid}/stat`) ?? []);
  } catch {
    return [];
  }
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(' ').map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** Every live process in the tree under pid (itself included), depth-bounded. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length && all.length < 256; i++) all.push(...children(all[i]));
  return all;
}

/**
 * Samples a process tree's CPU while it runs; total() is the sum over every process ever seen, each at
 * its last sample (a process that exits between samples loses at most one interval of CPU).
 */
export function treeCpuSampler(pid: number, intervalMs = 100): { sample(): void; stop(): void; total(): number } {
  const last = new Map<number, number>();
  const sample = (): void => {
    for (const p of processTree(pid)) {
      const ms = processCpuMs(p);
      if (ms !== undefined) last.set(p, ms);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    sample,
    stop: () => clearInterval(timer),
    total: () => [...last.values()].reduce((a, b) => a + b, 0),
  };
}

/** The PID of the fixture server listening on this port (its command line has `--port PORT`). */
export function serverPid(port: number, entry: string): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const i = args.indexOf('--port');
      if (i !== -1 && args[i + 1] === String(port) && args.some((a) => a.endsWith(entry))) return Number(d);
    } catch {
      /* gone or not ours */
    }
  }
  throw new Error(`no process with ${entry} --port ${port}`);
}

/**
 * Busy CPU of the whole machine in ms (every core, /proc/stat's first line less idle and iowait): around a run,
 * less the side's and the fixtures' own, it is what the rest spent (the Pub/Sub emulator, MariaDB, the bench).
 */
export function machineCpuMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f; // guest time is already counted in user
  return ((user + nice + system + irq + softirq + (steal ?? 0)) / TICKS_PER_S) * 1000;
}

/**
 * Opens a window on CPU time: the returned function gives, in ms since the call, the machine's busy CPU
 * (`machine`) and each named process's (a fixture server, the Pub/Sub emulator, MariaDB; 0 once gone).
 */
export function cpuWindow<K extends string>(pids: Record<K, number>): () => Record<K | 'machine', number> {
  const read = (): Record<K | 'machine', number> =>
    ({ ...Object.fromEntries(Object.entries<number>(pids).map(([k, pid]) => [k, processCpuMs(pid) ?? 0])), machine: machineCpuMs() }) as Record<K | 'machine', number>;
  const before = read();
  return () => {
    const now = read();
    return Object.fromEntries(Object.keys(now).map((k) => [k, now[k as K] - before[k as K]])) as Record<K | 'machine', number>;
  };
}

/** Every process (this one aside) whose command line has all these parts. */
export function pidsOf(...parts: string[]): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (parts.every((x) => cmd.includes(x))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The PID of the stack's server whose command line has all these parts. */
export function pidOf(...parts: string[]): number {
  const [pid] = pidsOf(...parts);
  if (pid === undefined) throw new Error(`no process with ${parts.join(' ')}`);
  return pid;
}
