import type { Argv, CommandModule } from 'yargs';
import { closeContext, createContext, type Ctx } from '../common/context.js';
import { ConfigError } from '../common/config/validate.js';
import { startDashboard } from '../ops/dashboard/server.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

export const dashboardCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'dashboard',
  describe:
    'A live web page of the migration (read-only, from MySQL): phases, bytes and objects S3 vs GCS with % done, throughput over time ' +
    'and ETA, claims, failed objects and their reasons, archived objects, per-worker rates; it updates itself. Binds 127.0.0.1: reach it ' +
    'through a tunnel (gcloud compute ssh VM -- -L 8080:127.0.0.1:8080). Stops on SIGINT/SIGTERM.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free one; the URL is logged)' })
      .option('bind', { type: 'string', default: '127.0.0.1', describe: 'address to listen on; anything but loopback exposes the page to that network' })
      .option('refresh-seconds', { type: 'number', default: 5, describe: 'how often open pages get fresh numbers' }) as unknown as Argv<GlobalArgs>,
  handler: async (argv) => {
    let ctx: Ctx | undefined;
    try {
      const a = argv as unknown as { port: number; bind: string; refreshSeconds: number };
      if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error(`--port: expected an integer from 0 to 65535, got \`${a.port}\``);
      if (!(a.refreshSeconds >= 1 && a.refreshSeconds <= 3600)) throw new Error(`--refresh-seconds: expected a number from 1 to 3600, got \`${a.refreshSeconds}\``);
      ctx = await createContext({ mode: 'dashboard', file: argv.config, configKey: argv.configKey, gcpProject: argv.gcpProject });
      const d = await startDashboard({ db: ctx.db, table: ctx.config.mysql_table, log: ctx.log, signal: ctx.signal }, { port: a.port, bind: a.bind, refreshSeconds: a.refreshSeconds });
      const loopback = ['127.0.0.1', '::1', 'localhost'].includes(a.bind);
      ctx.log.info(`dashboard: serving table ${ctx.config.mysql_table} at ${d.url}` + (loopback ? ' (loopback only: reach it through an SSH/IAP tunnel)' : ''), { url: d.url });
      if (!loopback) ctx.log.warn(`dashboard: listening on ${a.bind}, not loopback: anyone who can reach this address sees the migration's state (no authentication)`);
      // stderr, not the JSON log alone: an operator starting it by hand wants the address on screen.
      process.stderr.write(`ott dashboard: ${d.url}\n`);
      await d.closed;
    } catch (err) {
      reportFailure('dashboard', err, ctx);
      process.exitCode = err instanceof ConfigError ? 78 : 1;
    } finally {
      if (ctx) await closeContext(ctx);
    }
  },
};
