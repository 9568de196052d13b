// Arguments of run.bench.ts: which workloads, their sizes, the peers' sweeps, and the tool's own settings
// under test. Every default is the size; a run with any size changed prints its figures only.
import { configSchema } from '../../src/common/config/schema.js';
import { GiB, MiB, parseSize } from './measure.js';

export const WORKLOADS = ['small', 'parallel', 'large', 'procs', 'copypath'] as const;
export type Workload = (typeof WORKLOADS)[number];
/** What runs when no workload is named; `procs` (2 worker processes vs 1) and `copypath` (the worker's copy path alone) only when asked. */
const DEFAULT_WORKLOADS: Workload[] = ['small', 'parallel', 'large'];

export interface Args {
  workloads: Set<Workload>;
  small: { count: number; bytes: number };
  large: { count: number; bytes: number; bwlimitBytesPerS: number };
  parallel: { bytes: number; capBytesPerS: number; partBytes: number; streams: number[]; cutoffs: number[]; sweepBytes: number };
  rounds: number;
  concurrency: number;
  transfers: number[];
  sweepObjects: number;
  /** Extra config fields for every run of ours (the tool's settings under test, e.g. parallel parts). */
  ottConfig: Record<string, unknown>;
  /** Fields that make ours copy one stream, for the parallel workload's single-stream baseline; none: ours is the baseline. */
  ottSingleConfig?: Record<string, unknown>;
  build: boolean;
}

export const USAGE = `Usage: npx tsx bench/transfer/run.bench.ts [${WORKLOADS.join('|')} ...] [flags]
  (no workload: ${DEFAULT_WORKLOADS.join(', ')})
  --objects N            small: object count (20000)          --small-bytes S   small: object size (16KiB)
  --large-count N        large: object count (8)              --large-bytes S   large: object size (256MiB)
  --bwlimit S            large: the --bwlimit run's bytes/s (64MiB)
  --bytes S              parallel: the one object's size (5GiB)
  --cap S                parallel: CDN bytes/s per connection (50MiB)
  --part-bytes S         parallel: the bare loop's part size (16MiB)
  --streams L            parallel: parts in flight for the bare loop, rclone's --multi-thread-streams (4,8,16)
  --cutoffs L            parallel: rclone --multi-thread-cutoff values (64MiB,250MiB)
  --sweep-bytes S        parallel: object size of rclone's settings sweep (1GiB; its best then copies --bytes)
  --rounds N             interleaved measured rounds of every side; the fastest counts (2)
  --concurrency N        ours' transfer_concurrency and the bare loops' (the config's default)
  --transfers L          rclone --transfers sweep (8,16,32,64)
  --sweep-objects N      small: objects in rclone's settings sweep (2000; its best then copies them all)
  --ott-config JSON      extra config fields for every run of ours (env BENCH_OTT_CONFIG)
  --ott-single-config J  parallel: fields that make ours one stream, measured as its own baseline
                         (env BENCH_OTT_SINGLE_CONFIG; without it ours is the single stream today)
  --no-build             run bin/ott.mjs through tsx instead of compiling src/ first
Sizes: 16KiB, 256MiB, 5GiB or bytes. Lists: comma-separated.`;

function jsonObject(text: string | undefined, what: string): Record<string, unknown> | undefined {
  if (text === undefined || text === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`Expected \`${what}\` to be a JSON object, got \`${text}\`: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`Expected \`${what}\` to be a JSON object such as {"field": 1}, got \`${text}\``);
  return v as Record<string, unknown>;
}

function integer(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected \`${what}\` to be an integer from 1 and up, got \`${text}\``);
  return n;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  const flags = new Map<string, string>();
  const workloads = new Set<Workload>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') throw new Error(USAGE);
    if (a === '--no-build') flags.set('no-build', '1');
    else if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
      const value = inline ?? argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value\n${USAGE}`);
      flags.set(name, value);
    } else if ((WORKLOADS as readonly string[]).includes(a)) workloads.add(a as Workload);
    else throw new Error(`Expected a workload (${WORKLOADS.join(', ')}) or a flag, got \`${a}\`\n${USAGE}`);
  }
  const known = ['objects', 'small-bytes', 'large-count', 'large-bytes', 'bwlimit', 'bytes', 'cap', 'part-bytes', 'streams', 'cutoffs', 'sweep-bytes', 'rounds', 'concurrency', 'transfers', 'sweep-objects', 'ott-config', 'ott-single-config', 'no-build'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`Unknown flag \`--${k}\`\n${USAGE}`);
  const take = <T>(name: string, dflt: T, parse: (s: string, what: string) => T): T => (flags.has(name) ? parse(flags.get(name)!, `--${name}`) : dflt);
  const list = (parse: (s: string, what: string) => number) => (s: string, what: string): number[] => s.split(',').map((x) => parse(x, what));
  return {
    workloads: workloads.size ? workloads : new Set(DEFAULT_WORKLOADS),
    small: { count: take('objects', 20_000, integer), bytes: take('small-bytes', 16 * 1024, parseSize) },
    large: { count: take('large-count', 8, integer), bytes: take('large-bytes', 256 * MiB, parseSize), bwlimitBytesPerS: take('bwlimit', 64 * MiB, parseSize) },
    parallel: {
      bytes: take('bytes', 5 * GiB, parseSize),
      capBytesPerS: take('cap', 50 * MiB, parseSize),
      partBytes: take('part-bytes', 16 * MiB, parseSize),
      streams: take('streams', [4, 8, 16], list(integer)),
      cutoffs: take('cutoffs', [64 * MiB, 250 * MiB], list(parseSize)),
      sweepBytes: take('sweep-bytes', 1 * GiB, parseSize),
    },
    rounds: take('rounds', 2, integer),
    concurrency: take('concurrency', configSchema.parse({ mysql_table: 'x' }).transfer_concurrency, integer),
    transfers: take('transfers', [8, 16, 32, 64], list(integer)),
    sweepObjects: take('sweep-objects', 2000, integer),
    ottConfig: jsonObject(flags.get('ott-config') ?? env.BENCH_OTT_CONFIG, '--ott-config') ?? {},
    ottSingleConfig: jsonObject(flags.get('ott-single-config') ?? env.BENCH_OTT_SINGLE_CONFIG, '--ott-single-config'),
    build: !flags.has('no-build'),
  };
}

/** Whether a workload ran at the size (only then may its lines be written). */
export function fullSize(a: Args, w: Workload): boolean {
  if (w === 'small' || w === 'procs' || w === 'copypath') return a.small.count === 20_000 && a.small.bytes === 16 * 1024;
  if (w === 'large') return a.large.count === 8 && a.large.bytes === 256 * MiB;
  return a.parallel.bytes === 5 * GiB && a.parallel.capBytesPerS === 50 * MiB;
}
