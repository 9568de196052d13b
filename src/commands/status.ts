import type { Argv, CommandModule } from 'yargs';
import { closeContext, createContext, type Ctx } from '../common/context.js';
import { ConfigError } from '../common/config/validate.js';
import { run } from '../ops/status.js';
import { run as runFailed } from '../ops/failed.js';
import { REASON_CLASSES } from '../common/errors.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

export const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe:
    'Where is the migration: subfolders by phase (new, published, transferred, checked equal, mismatched, rsynced, failed), bytes and ' +
    'objects in S3 vs GCS with % done, live and stale syncCheck/rsync claims, the most recent errors, the last hour\'s throughput and an ETA. ' +
    'Indexed queries and totals kept as rows change, never a full read. --failed lists the objects that failed and are not resolved yet (the failed-object ledger). --json for scripts.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print the status as JSON' })
      .option('failed', { type: 'boolean', default: false, describe: 'list the open entries of the failed-object ledger instead (counts per reason, then one line each)' })
      .option('reason', { choices: REASON_CLASSES, describe: 'with --failed: only this reason class' })
      .option('recount', { type: 'boolean', default: false, describe: 'sum every subfolder again into the totals status reads (kept by triggers; exact without this): one full read of the table, writers wait meanwhile' })
      .option('limit', { type: 'number', default: 100, describe: 'with --failed: at most this many entries' }) as unknown as Argv<GlobalArgs>,
  // Not runMode: its closing summary log line would follow the screen (and break --json for scripts).
  handler: async (argv) => {
    let ctx: Ctx | undefined;
    try {
      ctx = await createContext({ mode: 'status', file: argv.config, configKey: argv.configKey, gcpProject: argv.gcpProject });
      const a = argv as { json?: boolean; failed?: boolean; reason?: string; limit?: number; recount?: boolean };
      if (a.reason && !a.failed) throw new Error('--reason applies to --failed');
      if (a.failed) await runFailed(ctx, { json: a.json, reason: a.reason, limit: a.limit });
      else await run(ctx, { json: a.json, recount: a.recount });
    } catch (err) {
      reportFailure('status', err, ctx);
      process.exitCode = err instanceof ConfigError ? 78 : 1;
    } finally {
      if (ctx) await closeContext(ctx);
    }
  },
};
