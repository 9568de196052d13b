import type { Argv, CommandModule } from 'yargs';
import { migrate } from '../common/migrate.js';
import { runMode, type GlobalArgs } from './runMode.js';

interface MigrateCliArgs extends GlobalArgs {
  adopt?: boolean;
}

export const migrateCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'migrate',
  describe:
    'Create or upgrade the MySQL state table (config mysql_table) by applying the sql/ migrations in order. ' +
    'Idempotent: each migration is recorded in schema_migrations and applied once; safe to run from several machines at once. ' +
    "A table made by the reference design's CREATE TABLE is refused unless --adopt, which converts it in place keeping every row.",
  builder: (y: Argv<GlobalArgs>) =>
    y.option('adopt', {
      type: 'boolean',
      default: false,
      describe: "convert a state table made by the reference design (dir_key primary key) in place: every flag, size, time and frequency kept (stop the reference's processes first)",
    }) as unknown as Argv<GlobalArgs>,
  handler: (argv) =>
    runMode('migrate', argv, async (ctx) => {
      const r = await migrate(ctx.db, ctx.config.mysql_table, undefined, { adopt: (argv as unknown as MigrateCliArgs).adopt });
      if (r.adopted) {
        const { published: p, inProgress: w } = r.adopted;
        ctx.log.info(
          `migrate: adopted the reference table ${ctx.config.mysql_table} (${r.adopted.rows} rows, every value kept). ` +
            `${p.syncCheck} row(s) flagged sync_check_published and ${p.rsync} rsync_published by the reference wait on its queues, which ott does not read: ` +
            'run `ott reset syncCheck` and `ott reset rsync` so publishDirList sends them again. ' +
            `${w.syncCheck + w.rsync} bare *_in_progress flag(s) are free for the next claim; ${p.cdn} row(s) published by the reference's publisher are checked by syncCheck and repaired by rsync.`,
          { adopted: r.adopted },
        );
      }
      return r;
    }),
};
