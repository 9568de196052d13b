import type { Argv, CommandModule } from 'yargs';
import { collectEagerly } from '../common/heap.js';
import { run } from '../publisher/publishObjectsList.js';
import { runMode, type GlobalArgs } from './runMode.js';
import { metricsOptions, type MetricsCliArgs } from './metricsOptions.js';

interface PublishObjectsCliArgs extends GlobalArgs {
  follow?: boolean;
  dryRun?: boolean;
  delta?: boolean;
  deleteUnmatched?: boolean;
  fromInventory?: boolean;
}

export const publishObjectsListCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'publishObjectsList',
  describe:
    'Publish the objects of every subfolder not yet published for CDN transfer to pubsub_topic_id: each subfolder is claimed ' +
    '(a lease, so any number of publishers share the work), listed from S3 recursively, filtered by last_modified_after/before ' +
    'and storage_class (by default the classes CloudFront serves; archived objects and names GCS cannot hold are recorded on the row, ' +
    'not published), and sent in messages of num_single_message keys (key, size, ETag, last-modified). A subfolder is flagged ' +
    'published only after Pub/Sub acknowledged all its messages; a failure releases it with the reason on its row, retried later. ' +
    'Runs until no work is left (exit 1 if any subfolder failed), or with --follow keeps polling. ' +
    'With --delta: the subfolders already published instead, each once per run, listed again on both sides: only objects missing ' +
    'in GCS or whose size or source ETag differ from what GCS holds are published; GCS objects whose S3 source was deleted are ' +
    'reported (count and sample, on the row and in `ott status`) and removed only with --delete-unmatched (or config delete_unmatched). ' +
    'With --from-inventory: the objects of each claimed subfolder come from the S3 Inventory the latest `ott dump --inventory` indexed, ' +
    'not from listing S3 (no LIST calls); same filters, claims, messages and flags.',
  builder: (y: Argv<GlobalArgs>) =>
    metricsOptions(y)
      .option('follow', { type: 'boolean', default: false, describe: 'keep running: poll for new subfolders with backoff (the publisher VM service)' })
      .option('from-inventory', { type: 'boolean', default: false, describe: 'publish from the S3 Inventory indexed by the latest `ott dump --inventory` instead of listing S3' })
      .option('delta', { type: 'boolean', default: false, describe: 'publish only what is new or changed in subfolders already published (once per run); report objects deleted from S3' })
      .option('delete-unmatched', {
        type: 'boolean',
        describe: 'with --delta: remove from GCS the objects whose S3 source was deleted (default: config delete_unmatched, false)',
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'list and count what would be published; publish, claim, flag and remove nothing' }) as Argv<GlobalArgs>,
  handler: (argv) => {
    collectEagerly(); // a publisher's garbage comes fast: its memory stays near its live heap (common/heap.ts)
    return runMode('publishObjectsList', argv, async (ctx) => {
      const a = argv as PublishObjectsCliArgs;
      const summary = await run(ctx, { follow: a.follow, dryRun: a.dryRun, delta: a.delta, deleteUnmatched: a.deleteUnmatched, fromInventory: a.fromInventory });
      if (summary.subfolders_failed > 0) {
        ctx.log.error(`publishObjectsList: ${summary.subfolders_failed} subfolder(s) not published; released with the reason on their rows, retried by a later run`, {
          failures: summary.failures,
        });
        process.exitCode = 1;
      }
      return summary;
    }, { metrics: argv as MetricsCliArgs });
  },
};
