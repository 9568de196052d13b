// The one writer of bench/RESULTS.md lines, and the conventions every line follows:
// - ratios are rate ratios, ours / peer: above 1 means ours is faster (rateRatio takes the two times of
//   the same work, so the order cannot be mixed up);
// - every line carries the Node version and the 1-min load of its own run, start -> end, and the core count;
//   lines measured on a Node major other than 20 are tagged with it and kept beside the Node 20 ones;
// - a run that started on a loaded machine (1-min load above the core count) prints its lines but does
//   not write them: figures measured under load are not figures (load compresses ratios).
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

const FILE = new URL('./RESULTS.md', import.meta.url);
const CORES = availableParallelism();

/** The machine's 1-min load average now. */
export const oneMinLoad = (): number => loadavg()[0];

/** The 1-min load when this benchmark process started (when this module was first imported). */
const PROCESS_START_LOAD = oneMinLoad();

export interface WriteOptions {
  /** 1-min load when the run behind these lines started (default: when the benchmark process started). */
  loadAtStart?: number;
  /** Lines of a run that is not the benchmark's full size are printed only. */
  print?: boolean;
}

/** Why lines measured from `loadAtStart` must not be written, or undefined if they may be. */
export function loadedMachine(loadAtStart: number): string | undefined {
  return loadAtStart > CORES ? `1-min load ${loadAtStart.toFixed(1)} above the ${CORES} cores when the run started` : undefined;
}

/** The Node major of the project's machines (`npx tsx` runs on it); the VMs run the current LTS (24). */
export const MACHINES_NODE_MAJOR = 20;
/** The Node major this benchmark runs on. */
export const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** `line` with its run's Node, load and cores inserted before its trailing ` -- \`command\``. */
function withLoad(line: string, loadAtStart: number): string {
  const note = `[node ${process.versions.node}, 1-min load ${loadAtStart.toFixed(1)}->${oneMinLoad().toFixed(1)}, ${CORES} cores]`;
  const at = line.lastIndexOf(' -- `');
  return at === -1 ? `${line} ${note}` : `${line.slice(0, at)} ${note}${line.slice(at)}`;
}

/**
 * Replaces a benchmark's lines in RESULTS.md (lines tagged `<!-- benchmark -->`) and prints them. Returns
 * whether they were written: not when the run started on a loaded machine, nor when `print` is set.
 */
export function writeResults(benchmark: string, lines: string[], o: WriteOptions = {}): boolean {
  const loadAtStart = o.loadAtStart ?? PROCESS_START_LOAD;
  const out = lines.map((l) => withLoad(l, loadAtStart));
  for (const l of out) process.stdout.write(`${l}\n`);
  const refused = loadedMachine(loadAtStart);
  if (refused || o.print) {
    if (out.length) process.stdout.write(`(not written to bench/RESULTS.md: ${refused ?? 'not the full-size run'})\n`);
    return false;
  }
  // A benchmark's lines on another Node major than the machines' are kept beside them, not instead.
  const tag = NODE_MAJOR === MACHINES_NODE_MAJOR ? `<!-- ${benchmark} -->` : `<!-- ${benchmark} node${NODE_MAJOR} -->`;
  const old = readFileSync(FILE, 'utf8').split('\n').filter((l) => !l.endsWith(tag));
  while (old.length && old[old.length - 1] === '') old.pop();
  writeFileSync(FILE, [...old, ...out.map((l) => `${l} ${tag}`), ''].join('\n'));
  return true;
}

/** The rate ratio of ours to a peer doing the same work, from the two elapsed times: above 1 is faster. */
export function rateRatio(oursMs: number, peerMs: number): string {
  return `${(peerMs / oursMs).toFixed(2)}x`;
}

export function perSecond(n: number, ms: number): string {
  const r = (n / ms) * 1000;
  return r >= 1000 ? `${(r / 1000).toFixed(1)}k/s` : `${r.toFixed(0)}/s`;
}
