// One round of the pipeline after the chaos, and THE place that lists its commands: the operator's loop of
// dump -> publish -> copy -> check -> repair -> re-check, each a real `ott` process (or a pool of them).
// The run repeats rounds until `ott status` says done, at most maxRounds times.
// To add a pass, add its step here, in the order the operator would run it. A step that needs an option
// this checkout's CLI may not have yet (`needs`, e.g. the delta pass `publishObjectsList --delta` of
// h/delta14) runs only where `ott <command> --help` lists it, and is reported as skipped elsewhere.
import { commandOptions, jsonLines, type Pipeline } from '../../demo/index.js';
import { once, workerPool, type ChaosCtx } from './procs.js';

export type Step =
  /** A one-shot command, run to completion. */
  | { kind: 'once'; pipeline: Pipeline; argv: string[]; needs?: string }
  /** A worker mode, run as a pool until every worker went idle. */
  | { kind: 'workers'; pipeline: Pipeline; argv: string[]; needs?: string };

export const ROUND: readonly Step[] = [
  // New subfolders (and, once the tool has them, objects directly under the root) into the state table.
  { kind: 'once', pipeline: 'objects', argv: ['dump'] },
  // Object lists of subfolders not yet published.
  { kind: 'once', pipeline: 'objects', argv: ['publishObjectsList'] },
  // The delta pass: new and changed objects in subfolders already published; objects deleted from S3
  // reported, and removed from GCS (the run's config has delete_unmatched: true).
  { kind: 'once', pipeline: 'objects', argv: ['publishObjectsList', '--delta'], needs: 'delta' },
  { kind: 'workers', pipeline: 'objects', argv: ['cdnTransfer', '--processes', '1'] },
  // Every subfolder checked again, per object (a same-size overwrite is found only by its checksum).
  { kind: 'once', pipeline: 'syncCheck', argv: ['publishDirList', '--purpose', 'syncCheck', '--recheck'] },
  { kind: 'workers', pipeline: 'syncCheck', argv: ['syncCheck', '--deep'] },
  // Repair what the check found, then check what was repaired.
  { kind: 'once', pipeline: 'rsync', argv: ['publishDirList', '--purpose', 'rsync'] },
  { kind: 'workers', pipeline: 'rsync', argv: ['rsync'] },
  { kind: 'once', pipeline: 'syncCheck', argv: ['publishDirList', '--purpose', 'syncCheck'] },
  { kind: 'workers', pipeline: 'syncCheck', argv: ['syncCheck', '--deep'] },
];

export interface RoundOptions {
  workers: number;
  /** Idle time after which a round's worker exits (no message for this long). */
  idleExitSeconds: number;
  stageTimeoutMs: number;
}

/**
 * What a publisher's closing summary says it sent: the sum of its counts named like published, messages,
 * objects or keys (so a new pass with other field names still counts); undefined without a summary.
 */
function publishedBy(lines: string[]): number | undefined {
  const hit = jsonLines({ lines }).find((l) => typeof l.message === 'string' && / finished$/.test(l.message));
  const summary = hit?.summary as Record<string, unknown> | undefined;
  if (!summary) return undefined;
  return Object.entries(summary).reduce((a, [k, v]) => a + (typeof v === 'number' && /published|messages|objects|keys/.test(k) && !/fail|lost/.test(k) ? v : 0), 0);
}

/**
 * Runs the steps of one round in order; a failing command is recorded (ctx.exits) and the round goes on.
 * A worker pool is skipped when every publisher since the previous pool exited 0 having published nothing:
 * its queue is empty (the previous pool ran until idle), and each pool costs process starts and an idle wait.
 */
export async function runRound(c: ChaosCtx, round: number, o: RoundOptions, steps: readonly Step[] = ROUND): Promise<void> {
  let published: number | undefined = 0;
  for (const [i, s] of steps.entries()) {
    const label = `r${round}.${i + 1}-${s.argv[0]}${s.argv.includes('--purpose') ? `-${s.argv[s.argv.indexOf('--purpose') + 1]}` : ''}`;
    const started = Date.now();
    if (s.needs && !(await commandOptions(c.env, c.cli.logDir, s.argv[0])).has(s.needs)) {
      c.say(`  ${label} (${s.argv.join(' ')}): skipped, this checkout's \`ott ${s.argv[0]}\` has no --${s.needs}`);
      continue;
    }
    if (s.kind === 'once') {
      const p = await once(c, label, s.pipeline, s.argv);
      if (s.argv[0].startsWith('publish')) {
        const n = (await p.exited).code === 0 ? publishedBy(p.lines) : undefined;
        published = published === undefined || n === undefined ? undefined : published + n;
      }
    } else if (published === 0) {
      c.say(`  ${label} (${s.argv.join(' ')}): skipped, nothing published`);
      continue;
    } else {
      published = 0;
      const r = await workerPool(c, { stage: label, pipeline: s.pipeline, argv: s.argv, count: o.workers, idleExitSeconds: o.idleExitSeconds, timeoutMs: o.stageTimeoutMs }).done;
      if (r.timedOut) c.say(`  ${label}: TIMED OUT`);
    }
    c.say(`  ${label} (${s.argv.join(' ')}): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
