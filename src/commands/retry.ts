import type { Argv, CommandModule } from 'yargs';
import { REASON_CLASSES } from '../common/errors.js';
import { run } from '../ops/retry.js';
import { runMode, type GlobalArgs } from './runMode.js';

export const retryCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'retry',
  describe:
    'Publishes again, as objects-list messages on pubsub_topic_id, the objects of the failed-object ledger that no copy has verified since they ' +
    'failed (all, or of one --reason); cdnTransfer copies them, and each verified copy resolves its entry. Entries are marked retried.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('failed', { type: 'boolean', demandOption: 'name what to retry: --failed (the open entries of the failed-object ledger)', describe: 'retry the failed-object ledger\'s open entries' })
      .option('reason', { choices: REASON_CLASSES, describe: 'only this reason class' }) as unknown as Argv<GlobalArgs>,
  handler: (argv) =>
    runMode('retry', argv, (ctx) => {
      const a = argv as { failed?: boolean; reason?: string };
      if (!a.failed) throw new Error('retry: name what to retry: --failed (the open entries of the failed-object ledger)');
      return run(ctx, { reason: a.reason });
    }),
};
