// The real `ott` CLI in its own process, as the benchmarks that judge its memory run it: through
// bin/ott.mjs (tsx, as in a source checkout) or a built entry point (transfer/worker.ts buildOtt: plain
// JavaScript, as on the VMs), its JSON log on stdout, its peak RSS read from its own /proc/<pid>/status
// (VmHWM, the kernel's high-water mark) every 50 ms until it exits.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';

export interface OttRun {
  ms: number;
  peakRssMiB: number;
  /** The summary of its `<mode> finished` log line. */
  summary: Record<string, unknown>;
}

const statusField = (pid: number, field: string): number | undefined => {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // exited
  }
};

/**
 * Runs `ott <args>` (`entry`: a built main.js instead of bin/ott.mjs; `mode` is the mode it runs: its `<mode> finished` line carries the summary); throws
 * if it exits non-zero or logs no summary. `onSample` sees its current RSS (VmRSS, KiB) at each sample.
 */
export async function runOtt(args: string[], mode: string, o: { entry?: string; env?: NodeJS.ProcessEnv; onSample?: (rssKiB: number) => void } = {}): Promise<OttRun> {
  const t = Date.now();
  const child = spawn(process.execPath, [o.entry ?? 'bin/ott.mjs', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: o.env ?? process.env });
  let out = '';
  let peakKiB = 0;
  child.stdout.on('data', (b) => (out += b));
  const timer = setInterval(() => {
    const hwm = statusField(child.pid!, 'VmHWM');
    if (hwm !== undefined) peakKiB = Math.max(peakKiB, hwm);
    const rss = o.onSample && statusField(child.pid!, 'VmRSS');
    if (rss) o.onSample!(rss);
  }, 50);
  const code = await new Promise((r) => child.on('exit', r));
  clearInterval(timer);
  if (code !== 0) throw new Error(`ott ${mode} exited ${code}: ${out.slice(-2000)}`);
  const ms = Date.now() - t;
  const done = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.message === `${mode} finished`);
  if (!done) throw new Error(`no summary from ott ${mode}: ${out.slice(-2000)}`);
  return { ms, peakRssMiB: Math.round(peakKiB / 1024), summary: done.summary };
}
