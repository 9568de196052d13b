// Runs a bare loop in a fresh node process of its own, as ours runs in its own: neither side shares the
// orchestrator's heap, timers or Pub/Sub client (in the orchestrator's process a bare loop measured up to
// 1.7x more CPU per MiB). The child imports `module`, calls its export `fn` with the job's arguments
// (read from a JSON file) and prints the result as the last line of stdout; CPU is its own process's.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Job {
  module: string;
  fn: string;
  args: unknown[];
}

export async function runInChild<T>(module: URL, fn: string, args: unknown[], jobFile: string): Promise<T> {
  const job: Job = { module: fileURLToPath(module), fn, args };
  writeFileSync(jobFile, JSON.stringify(job));
  // BENCH_CHILD_NODE_ARGS: node flags for the bare loop's process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', fileURLToPath(import.meta.url), jobFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${fn} process exited ${code}:\n${err}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const job = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Job;
  const mod = (await import(pathToFileURL(job.module).href)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  if (typeof mod[job.fn] !== 'function') throw new Error(`${job.module} exports no function ${job.fn}`);
  process.stdout.write(`${JSON.stringify(await mod[job.fn](...job.args))}\n`);
}
