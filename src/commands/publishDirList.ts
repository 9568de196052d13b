import type { Argv, CommandModule } from 'yargs';
import { PURPOSES, run, type Purpose } from '../publisher/publishDirList.js';
import { runMode, type GlobalArgs } from './runMode.js';
import { metricsOptions, type MetricsCliArgs } from './metricsOptions.js';

interface PublishDirCliArgs extends GlobalArgs {
  purpose: Purpose;
  follow?: boolean;
  dryRun?: boolean;
  recheck?: boolean;
  recheckBefore?: string;
}

/** --recheck-before: an ISO date with a time zone or a plain date (UTC midnight); the bad value is named. */
function parseInstant(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(value) || Number.isNaN(d.getTime())) {
    throw new Error(`publishDirList: --recheck-before got ${JSON.stringify(value)}, expected an ISO date such as 2026-01-31 or 2026-01-31T12:00:00Z`);
  }
  return d;
}

export const publishDirListCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'publishDirList',
  describe:
    'Publish subfolders to pubsub_topic_id for the sync-check or rsync workers, one message each. --purpose syncCheck: subfolders ' +
    'never checked, with nothing in GCS yet, or rsynced since their last check (gcs_size = 0 OR sync_check_frequency = 0 OR rsync_last_end > sync_check_last_end), excluding those whose objects list is ' +
    'still waiting to be published. With --recheck, also the subfolders already checked whose last check ended before ' +
    '--recheck-before (default: when this run started), that no check or rsync holds now and whose objects list was published: ' +
    'each published once per run, for a final pass or after suspected damage. --purpose rsync: subfolders whose sizes or object counts differ after at least one sync check. ' +
    'Each row is claimed with a lease and flagged only after Pub/Sub acknowledged its message. Runs until no work is left ' +
    '(exit 1 if any failed), or with --follow keeps polling.',
  builder: (y: Argv<GlobalArgs>) =>
    metricsOptions(y)
      .option('purpose', { choices: PURPOSES, demandOption: true, describe: 'which workers the subfolders are for' })
      .option('follow', { type: 'boolean', default: false, describe: 'keep running: poll for due subfolders with backoff' })
      .option('recheck', { type: 'boolean', default: false, describe: 'syncCheck: also re-publish subfolders checked before --recheck-before, once per run' })
      .option('recheck-before', {
        type: 'string',
        describe: 'with --recheck: ISO date (e.g. 2026-01-31T12:00:00Z); default and upper bound: the start of this run, by the database clock',
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'log the subfolders that would be published; publish, claim and flag nothing' }) as unknown as Argv<GlobalArgs>,
  handler: (argv) =>
    runMode('publishDirList', argv, async (ctx) => {
      const a = argv as unknown as PublishDirCliArgs;
      const summary = await run(ctx, { purpose: a.purpose, follow: a.follow, dryRun: a.dryRun, recheck: a.recheck, recheckBefore: parseInstant(a.recheckBefore) });
      if (summary.subfolders_failed > 0) {
        ctx.log.error(`publishDirList: ${summary.subfolders_failed} subfolder(s) not published; released with the reason on their rows, retried by a later run`, {
          failures: summary.failures,
        });
        process.exitCode = 1;
      }
      return summary;
    }, { metrics: argv as MetricsCliArgs }),
};
