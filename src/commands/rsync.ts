import type { Argv, CommandModule } from 'yargs';
import { run } from '../worker/rsync.js';
import { runMode, type GlobalArgs } from './runMode.js';

interface RsyncCliArgs extends GlobalArgs {
  engine?: 'cdn' | 'gcloud';
  dryRun?: boolean;
  dir?: string[];
  concurrency?: number;
  idleExitSeconds?: number;
  maxMessages?: number;
}

export const rsyncCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'rsync',
  describe:
    'Pull subfolder messages from pubsub_subscription_id and make each subfolder in GCS match S3, then re-measure both sides into the ' +
    'state table. Engine (rsync_engine): cdn (default) copies only missing or different objects through the CDN, verified; gcloud runs ' +
    '`gcloud storage rsync`. Claims use leases like syncCheck. --dir KEY works on named subfolders; --dry-run --dir KEY prints the plan.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('engine', { choices: ['cdn', 'gcloud'] as const, describe: 'override rsync_engine' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print what would be copied or deleted (needs --dir); changes nothing' })
      .option('dir', { type: 'string', array: true, describe: 'subfolder dir_key to work on instead of pulling messages (repeatable)' })
      .option('concurrency', { type: 'number', describe: 'subfolders at once (default: num_messages)' })
      .option('idle-exit-seconds', { type: 'number', default: 0, describe: 'exit after this long with no message (0: run until SIGTERM)' })
      .option('max-messages', { type: 'number', default: 0, describe: 'exit after this many messages (0: no limit)' }) as unknown as Argv<GlobalArgs>,
  handler: (argv) => {
    const a = argv as unknown as RsyncCliArgs;
    return runMode('rsync', argv, (ctx) =>
      run(ctx, { engine: a.engine, dryRun: a.dryRun, dirs: a.dir, concurrency: a.concurrency, idleExitSeconds: a.idleExitSeconds, maxMessages: a.maxMessages }),
    );
  },
};
