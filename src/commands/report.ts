import type { Argv, CommandModule } from 'yargs';
import { closeContext, createContext, type Ctx } from '../common/context.js';
import { ConfigError } from '../common/config/validate.js';
import { REPORT_FORMATS, run, type ReportFormat } from '../ops/report/report.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

export const reportCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'report',
  describe:
    'The record of a migration, from MySQL: --format csv, every subfolder\'s state (streamed; RFC 4180; a text field starting with = + - @ TAB CR or \' ' +
    'gets a leading \' against spreadsheet formulas, so strip one leading \' to read a key back), --format md, a summary for a ticket or PR (totals, time, ' +
    'throughput, verification methods, failures by reason, exclusions, cost so far), --format html, a self-contained page.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('format', { choices: REPORT_FORMATS, demandOption: true, describe: 'csv, md or html' })
      .option('out', { type: 'string', describe: 'write to this file (complete or not at all) instead of stdout' }) as unknown as Argv<GlobalArgs>,
  // Not runMode: its closing summary log line would follow the report on stdout.
  handler: async (argv) => {
    let ctx: Ctx | undefined;
    try {
      ctx = await createContext({ mode: 'report', file: argv.config, configKey: argv.configKey, gcpProject: argv.gcpProject });
      const a = argv as unknown as { format: ReportFormat; out?: string };
      const r = await run(ctx, { format: a.format, out: a.out });
      // The report is stdout's; a line about it goes to stderr, and only when it went to a file.
      if (a.out) process.stderr.write(`ott report: ${r.format} written to ${r.out} (${r.bytes} bytes${r.rows !== undefined ? `, ${r.rows} subfolders` : ''})\n`);
    } catch (err) {
      reportFailure('report', err, ctx);
      process.exitCode = err instanceof ConfigError ? 78 : 1;
    } finally {
      if (ctx) await closeContext(ctx);
    }
  },
};
