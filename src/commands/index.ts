// Every registered command: one file per command; one import line and one array line here each.
import type { CommandModule } from 'yargs';
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
];
