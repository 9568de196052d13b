import type { CommandModule } from 'yargs';
import { migrate } from '../common/migrate.js';
import { runMode, type GlobalArgs } from './runMode.js';

export const migrateCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'migrate',
  describe:
    'Create or upgrade the MySQL state table (config mysql_table) by applying the sql/ migrations in order. ' +
    'Idempotent: each migration is recorded in schema_migrations and applied once; safe to run from several machines at once.',
  handler: (argv) => runMode('migrate', argv, (ctx) => migrate(ctx.db, ctx.config.mysql_table)),
};
