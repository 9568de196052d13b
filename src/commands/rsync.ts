import type { Argv, CommandModule } from 'yargs';
import { scavengeStreamedBuffers } from '../common/heap.js';
import { runMode, type GlobalArgs } from './runMode.js';
import { subfolderArgs, subfolderOptions, type SubfolderCliArgs } from './subfolderOptions.js';

interface RsyncCliArgs extends SubfolderCliArgs {
  engine?: 'cdn' | 'gcloud';
  dryRun?: boolean;
  dir?: string[];
}

export const rsyncCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'rsync',
  describe:
    'Pull subfolder messages from pubsub_subscription_id and make each subfolder in GCS match S3, then re-measure both sides into the ' +
    'state table. Engine (rsync_engine): cdn (default) copies only missing or different objects through the CDN, verified; gcloud runs ' +
    '`gcloud storage rsync`. Claims use leases like syncCheck. --dir KEY works on named subfolders; --dry-run --dir KEY prints the plan.',
  builder: (y: Argv<GlobalArgs>) =>
    subfolderOptions(y)
      .option('engine', { choices: ['cdn', 'gcloud'] as const, describe: 'override rsync_engine' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print what would be copied or deleted (needs --dir); changes nothing' })
      .option('dir', { type: 'string', array: true, describe: 'subfolder dir_key to work on instead of pulling messages (repeatable)' }) as unknown as Argv<GlobalArgs>,
  handler: (argv) => {
    const a = argv as unknown as RsyncCliArgs;
    scavengeStreamedBuffers(); // its cdn engine streams objects as cdnTransfer does (common/heap.ts)
    // Loaded when it runs, as cdnTransfer's: the copy path (undici, the signer, CRC32C) would otherwise sit
    // in the heap of every mode, the publishers' included.
    return runMode(
      'rsync',
      argv,
      async (ctx) => {
        const { run } = await import('../worker/rsync.js');
        return run(ctx, { engine: a.engine, dryRun: a.dryRun, dirs: a.dir, ...subfolderArgs(a) });
      },
      { metrics: a },
    );
  },
};
