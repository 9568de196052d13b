// The options both subfolder workers (syncCheck, rsync) take for their share of the one consumer.
import type { Argv } from 'yargs';
import type { GlobalArgs } from './runMode.js';
import { metricsOptions, type MetricsCliArgs } from './metricsOptions.js';

export interface SubfolderCliArgs extends GlobalArgs, MetricsCliArgs {
  concurrency?: number;
  idleExitSeconds?: number;
  maxMessages?: number;
}

export function subfolderOptions(y: Argv<GlobalArgs>): Argv<GlobalArgs> {
  return metricsOptions(y)
    .option('concurrency', { type: 'number', describe: 'subfolders worked on at once (default: num_messages)' })
    .option('idle-exit-seconds', { type: 'number', default: 0, describe: 'exit after this long with no message (0: run until SIGTERM)' })
    .option('max-messages', { type: 'number', default: 0, describe: 'exit after this many messages (0: no limit)' }) as unknown as Argv<GlobalArgs>;
}

/** What the worker's run() takes of them. */
export function subfolderArgs(a: SubfolderCliArgs): { concurrency?: number; idleExitSeconds?: number; maxMessages?: number } {
  return { concurrency: a.concurrency, idleExitSeconds: a.idleExitSeconds, maxMessages: a.maxMessages };
}
