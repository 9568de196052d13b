import type { Argv, CommandModule } from 'yargs';
import { run } from '../ops/reset.js';
import { runMode, type GlobalArgs } from './runMode.js';

interface ResetCliArgs extends GlobalArgs {
  mode: 'syncCheck' | 'rsync';
  staleOnly?: boolean;
  force?: boolean;
  purge?: boolean;
  subscription?: string;
}

export const resetCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'reset <mode>',
  describe:
    "The reference's manual reset as one command: clears <mode>'s published and in-progress flags (all, or with --stale-only only " +
    'expired claims) so the publisher sends those subfolders again; --purge also seeks the subscription to now (drops queued messages). ' +
    'Refuses while live claims exist (workers still running) unless --force.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('mode', { choices: ['syncCheck', 'rsync'] as const, demandOption: true })
      .option('stale-only', { type: 'boolean', default: false, describe: 'clear only claims whose lease expired' })
      .option('force', { type: 'boolean', default: false, describe: 'reset even while live claims exist' })
      .option('purge', { type: 'boolean', default: false, describe: 'seek the subscription to now, dropping queued messages' })
      .option('subscription', { type: 'string', describe: 'subscription to purge (default: pubsub_subscription_id)' }) as unknown as Argv<GlobalArgs>,
  handler: (argv) => {
    const a = argv as unknown as ResetCliArgs;
    return runMode(`reset ${a.mode}`, argv, (ctx) => {
      const sub = a.purge ? (a.subscription ?? ctx.config.pubsub_subscription_id) : undefined;
      if (a.purge && !sub) throw new Error('--purge needs a subscription: set pubsub_subscription_id or pass --subscription');
      return run(ctx, { mode: a.mode, staleOnly: a.staleOnly, force: a.force, purgeSubscription: sub });
    });
  },
};
