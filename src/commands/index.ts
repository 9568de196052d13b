// Every registered command: one file per command; one import line and one array line here each.
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from './runMode.js';
import { migrateCommand } from './migrate.js';
import { configCommand } from './config.js';
import { dumpCommand } from './dump.js';
import { publishObjectsListCommand } from './publishObjectsList.js';
import { publishDirListCommand } from './publishDirList.js';
import { syncCheckCommand } from './syncCheck.js';
import { rsyncCommand } from './rsync.js';
import { statusCommand } from './status.js';
import { estimateCommand } from './estimate.js';
import { resetCommand } from './reset.js';
import { cdnTransferCommand } from './cdnTransfer.js';
import { retryCommand } from './retry.js';
import { reportCommand } from './report.js';
import { dashboardCommand } from './dashboard.js';

export const commands: CommandModule<GlobalArgs, GlobalArgs>[] = [
  migrateCommand,
  configCommand,
  dumpCommand,
  publishObjectsListCommand,
  publishDirListCommand,
  syncCheckCommand,
  rsyncCommand,
  statusCommand,
  estimateCommand,
  resetCommand,
  cdnTransferCommand,
  retryCommand,
  reportCommand,
  dashboardCommand,
];

/** The options every command takes; the reference design's spellings (main.py's flags) work as aliases. */
export function globalOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('gcp-project', { alias: 'gcp_project', type: 'string', describe: 'GCP project of the Datastore config entity, Secret Manager and Pub/Sub' })
    .option('config-key', { alias: 'config_key', type: 'string', describe: 'Datastore entity holding the config, as KIND/NAME' })
    .option('config', { type: 'string', describe: 'local JSON config file instead of Datastore (development)' }) as unknown as Argv<T>;
}
