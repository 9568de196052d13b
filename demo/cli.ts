// The real `ott` CLI as separate processes, the way the VMs run it: one child per command, its JSON log
// lines captured (to a file per process and in memory, for the no-secret-in-logs check) and the
// interesting ones echoed as progress.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface OttProcess {
  label: string;
  args: string[];
  child: ChildProcess;
  /** Every stdout and stderr line this process wrote. */
  lines: string[];
  logFile: string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  done(): boolean;
  /** Sends a signal; resolves on exit. SIGTERM escalates to SIGKILL after graceMs. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface CliOptions {
  /** The local cloud's env (endpoints), merged over this process's env. */
  env: Record<string, string>;
  logDir: string;
  /** Echo sink for progress lines; the demo prints them, the test keeps quiet. */
  echo?: (label: string, text: string) => void;
  /** Every line of every process, also recorded here (for the secret grep). */
  allLines?: string[];
}

let seq = 0;

/** A short human rendering of one JSON log line, or undefined when it is not worth showing. */
/** The AWS SDK's multi-line notice that Node 20 support ends: known, and not the demo's news. */
const NOISE = /NodeVersionSupportWarning|^versions published after|^will require node|^To continue receiving updates|^and security updates please|^More information can be found at|^\(Use `node --trace-warnings/;

export function renderLogLine(line: string): string | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.trim() && !NOISE.test(line) ? line : undefined; // plain text (yargs usage, a crash): shown
  }
  const msg = String(e.message ?? '');
  const sev = String(e.severity ?? 'INFO');
  const interesting = sev === 'WARNING' || sev === 'ERROR' || /progress|finished|done|starting|failed|retry/i.test(msg);
  if (!interesting) return undefined;
  const skip = new Set(['severity', 'message', 'time', 'logging.googleapis.com/labels']);
  const fields = Object.entries(e)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  const text = `${sev === 'INFO' ? '' : `${sev} `}${msg}${fields ? `  ${fields}` : ''}`;
  return text.length > 400 ? `${text.slice(0, 397)}...` : text;
}

/** Starts `node --import tsx src/main.ts <args> --gcp-project ... --config-key ...` as its own process. */
export function spawnOtt(label: string, args: string[], o: CliOptions): OttProcess {
  const logFile = join(o.logDir, `${String(++seq).padStart(2, '0')}-${label.replace(/[^\w.-]+/g, '_')}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...o.env, METADATA_SERVER_DETECTION: 'none' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const closed: Promise<void>[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    const rl = createInterface({ input: stream });
    rl.on('line', (line) => {
      lines.push(line);
      o.allLines?.push(line);
      log.write(line + '\n');
      const shown = o.echo ? renderLogLine(line) : undefined;
      if (shown) o.echo!(label, shown);
    });
    closed.push(new Promise((r) => rl.once('close', () => r())));
  }
  let finished = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      lines.push(`spawn failed: ${err.message}`);
      finished = true;
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => {
      // Let the pipes drain so the last lines (the summary) are captured before anyone reads them.
      void Promise.all(closed).then(() => {
        log.end();
        finished = true;
        resolve({ code, signal });
      });
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> => {
    if (!finished) child.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    const r = await exited;
    if (timer) clearTimeout(timer);
    return r;
  };
  return { label, args, child, lines, logFile, exited, done: () => finished, stop };
}

/** Parses the JSON log lines of a process (non-JSON lines skipped). */
export function jsonLines(p: Pick<OttProcess, 'lines'>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of p.lines) {
    try {
      const v = JSON.parse(l) as unknown;
      if (v && typeof v === 'object') out.push(v as Record<string, unknown>);
    } catch {
      /* not a log line */
    }
  }
  return out;
}

/** The `summary` field of the process's "<mode> finished" line, if it logged one. */
export function finishedSummary(p: Pick<OttProcess, 'lines'>): Record<string, unknown> | undefined {
  const hit = jsonLines(p).find((l) => typeof l.message === 'string' && / finished$/.test(l.message));
  return hit?.summary as Record<string, unknown> | undefined;
}

const optionsCache = new Map<string, Promise<Set<string>>>();

/** The long options `ott <command> --help` lists (e.g. "deep", "purpose"); asked once per command. */
export function commandOptions(env: Record<string, string>, logDir: string, command: string): Promise<Set<string>> {
  let hit = optionsCache.get(command);
  if (!hit) {
    hit = (async () => {
      const p = spawnOtt(`help-${command}`, [command, '--help'], { env, logDir });
      await p.exited;
      return new Set(p.lines.flatMap((l) => [...l.matchAll(/^\s+--([a-z][\w-]*)/g)].map((m) => m[1])));
    })();
    optionsCache.set(command, hit);
  }
  return hit;
}

/** The commands this checkout's CLI offers (from `ott --help`), so a missing one is named, not guessed at. */
export async function availableCommands(env: Record<string, string>, logDir: string): Promise<Set<string>> {
  const p = spawnOtt('help', ['--help'], { env, logDir });
  await p.exited;
  const names = new Set<string>();
  let inCommands = false;
  for (const line of p.lines) {
    if (/^Commands:/.test(line)) inCommands = true;
    else if (/^Options:/.test(line)) inCommands = false;
    else if (inCommands) {
      const m = /^\s+ott\s+([A-Za-z][\w-]*)/.exec(line);
      if (m) names.add(m[1]);
    }
  }
  return names;
}
