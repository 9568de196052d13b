import type { Argv, CommandModule } from 'yargs';
import { run } from '../worker/syncCheck.js';
import { runMode, type GlobalArgs } from './runMode.js';
import { subfolderArgs, subfolderOptions, type SubfolderCliArgs } from './subfolderOptions.js';

interface SyncCheckCliArgs extends SubfolderCliArgs {
  deep?: boolean;
}

export const syncCheckCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'syncCheck',
  describe:
    'Pull subfolder messages from pubsub_subscription_id and compare each subfolder in S3 (objects in scope) and GCS: bytes and object ' +
    'counts, written to the state table as the reference does. A subfolder is claimed with a lease (lease_seconds), so a crashed worker ' +
    'strands nothing; a busy one is left to be published again. --deep also diffs every object (key, size, MD5).',
  builder: (y: Argv<GlobalArgs>) =>
    subfolderOptions(y)
      .option('deep', { type: 'boolean', default: false, describe: 'diff per object: missing, different and extra objects, with a sample of keys' }) as unknown as Argv<GlobalArgs>,
  handler: (argv) => {
    const a = argv as unknown as SyncCheckCliArgs;
    return runMode('syncCheck', argv, (ctx) => run(ctx, { deep: a.deep, ...subfolderArgs(a) }), { metrics: a });
  },
};
