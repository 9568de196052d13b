// Structured JSON lines on stdout, in the shape Cloud Logging (Ops Agent) parses: `severity`, `message`,
// `time`, `logging.googleapis.com/labels`, plus the fields of the event. Everything passes redact(); the
// message text, which log viewers show as text, also printable() (a key in it cannot forge a line).
import { printable } from './printable.js';
import { redact } from './redact.js';

export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
const RANK: Record<Severity, number> = { DEBUG: 100, INFO: 200, WARNING: 400, ERROR: 500 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(labels: Record<string, string>): Logger;
}

export interface LoggerOptions {
  labels: Record<string, string>;
  level?: string;
  write?: (line: string) => void;
}

function errorFields(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (err.cause !== undefined) out.cause = errorFields(err.cause);
  return out;
}

let stdioGuarded = false;

/**
 * A line that cannot be written (a full disk under a redirected stdout, a closed pipe) is dropped, never a
 * crash: without a listener, the stream's 'error' event would kill the process mid-copy, and a restarted
 * worker would die the same way (a crash loop). Once a stream failed, Node closes it: later lines are
 * dropped until the process restarts; the work and the exit code are unaffected.
 */
export function guardStdio(): void {
  if (stdioGuarded) return;
  stdioGuarded = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

export function createLogger(opts: LoggerOptions): Logger {
  const min = RANK[(opts.level as Severity) in RANK ? (opts.level as Severity) : 'INFO'];
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const emit = (severity: Severity, message: string, fields?: Record<string, unknown>): void => {
    if (RANK[severity] < min) return;
    const entry: Record<string, unknown> = { severity, message: printable(message), time: new Date().toISOString(), 'logging.googleapis.com/labels': opts.labels };
    for (const [k, v] of Object.entries(fields ?? {})) entry[k] = v instanceof Error ? errorFields(v) : v;
    let line: string;
    try {
      line = JSON.stringify(entry, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    } catch {
      line = JSON.stringify({ severity, message, time: entry.time, 'logging.googleapis.com/labels': opts.labels, note: 'fields not serializable' });
    }
    write(redact(line) + '\n');
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (labels) => createLogger({ ...opts, labels: { ...opts.labels, ...labels } }),
  };
}
