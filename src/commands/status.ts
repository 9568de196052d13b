import type { Argv, CommandModule } from 'yargs';
import { closeContext, createContext, type Ctx } from '../common/context.js';
import { ConfigError } from '../common/config/validate.js';
import { run } from '../ops/status.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

export const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe:
    'Where is the migration: subfolders by phase (new, published, transferred, checked equal, mismatched, rsynced, failed), bytes and ' +
    'objects in S3 vs GCS with % done, live and stale syncCheck/rsync claims, the most recent errors. Indexed queries only. --json for scripts.',
  builder: (y: Argv<GlobalArgs>) => y.option('json', { type: 'boolean', default: false, describe: 'print the status as JSON' }) as Argv<GlobalArgs>,
  // Not runMode: its closing summary log line would follow the screen (and break --json for scripts).
  handler: async (argv) => {
    let ctx: Ctx | undefined;
    try {
      ctx = await createContext({ mode: 'status', file: argv.config, configKey: argv.configKey, gcpProject: argv.gcpProject });
      await run(ctx, { json: (argv as { json?: boolean }).json });
    } catch (err) {
      reportFailure('status', err, ctx);
      process.exitCode = err instanceof ConfigError ? 78 : 1;
    } finally {
      if (ctx) await closeContext(ctx);
    }
  },
};
