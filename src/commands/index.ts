// Every registered command: one file per command; one import line and one array line here each.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from './runMode.js';
import { migrateCommand } from './migrate.js';
import { configCommand } from './config.js';
import { dumpCommand } from './dump.js';

export const commands: CommandModule<GlobalArgs, GlobalArgs>[] = [
  migrateCommand,
  configCommand,
  dumpCommand,
];
