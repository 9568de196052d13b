// Runs a bare loop in a fresh node process of its own, as ours runs in its own: neither side shares the
// orchestrator's heap, timers or Pub/Sub client (in the orchestrator's process a bare loop measured up to
// 1.7x more CPU per MiB). The child imports `module`, calls its export `fn` with the job's arguments
// (read from a JSON file) and prints the result as the last line of stdout; CPU is its own process's.
// Built (useBuiltChildren): the child and its module run as JavaScript compiled by tsc, as ours runs, not
// through tsx, whose esbuild transform keeps function names by a call per closure made (`__name`, an
// Object.defineProperty): ~1.5% of a bare loop's CPU in its profile, a handicap of the limit.
// The runtime as ours has it: the VMs' unit's NODE_OPTIONS (the young generation's size) and malloc arenas
// (MALLOC_ARENA_MAX), and the copy modes' own setting (src/common/heap.ts: on Node 24, young collections for
// streamed buffers), else on Node 24 a bare large loop paid full collections ours no longer pays, a handicap
// of the limit again.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { scavengeStreamedBuffers } from '../../src/common/heap.js';
import { sideEnv } from './vmSettings.js';

interface Job {
  module: string;
  fn: string;
  args: unknown[];
}

/** The checkout's root (this file is bench/transfer/child.ts) and, once built, the compiled copy's. */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
let builtRoot: string | undefined;

/**
 * Compiles with tsc into `dir`, beside a link to the checkout's node_modules and its package.json ("type":
 * "module"), so the emitted JavaScript runs as it would in the checkout. `tscArgs` name the project and
 * where to emit. tsc exits non-zero on type errors but still emits: each of `emitted` must exist.
 */
export async function compileInto(dir: string, tscArgs: string[], emitted: string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), readFileSync(join(repoRoot, 'package.json')));
  await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), ...tscArgs], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }).catch(() => undefined);
  for (const f of emitted) readFileSync(f); // throws, naming the file, if nothing was emitted
}

/**
 * Compiles the child processes' modules (and what they import: src/, the fixtures) with the checkout's
 * tsconfig into `dir`, and runs every later child from there.
 */
export async function useBuiltChildren(dir: string, modules: URL[]): Promise<void> {
  const files = [fileURLToPath(import.meta.url), ...modules.map((m) => fileURLToPath(m).replace(/\.js$/, '.ts'))];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(repoRoot, 'tsconfig.json'), compilerOptions: { rootDir: repoRoot, outDir: dir, noEmit: false, sourceMap: false }, files, include: [] }));
  await compileInto(dir, ['-p', join(dir, 'tsconfig.json')], files.map((f) => builtPath(dir, f)));
  builtRoot = dir;
}

const builtPath = (root: string, file: string): string => join(root, relative(repoRoot, file)).replace(/\.ts$/, '.js');

export async function runInChild<T>(module: URL, fn: string, args: unknown[], jobFile: string): Promise<T> {
  const modulePath = fileURLToPath(module);
  const job: Job = { module: builtRoot ? builtPath(builtRoot, modulePath) : modulePath, fn, args };
  writeFileSync(jobFile, JSON.stringify(job));
  // BENCH_CHILD_NODE_ARGS: node flags for the bare loop's process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry = builtRoot ? [builtPath(builtRoot, fileURLToPath(import.meta.url))] : ['--import', 'tsx', fileURLToPath(import.meta.url)];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, jobFile], { env: sideEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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
  scavengeStreamedBuffers();
  const mod = (await import(pathToFileURL(job.module).href)) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  if (typeof mod[job.fn] !== 'function') throw new Error(`${job.module} exports no function ${job.fn}`);
  process.stdout.write(`${JSON.stringify(await mod[job.fn](...job.args))}\n`);
}
