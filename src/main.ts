#!/usr/bin/env node
// ott: parses arguments and dispatches to a mode. Nothing else lives here.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands, globalOptions } from './commands/index.js';
import { silenceSdkNodeWarning } from './common/config/env.js';
import { guardStdio } from './common/log.js';

guardStdio(); // a full disk or a closed pipe on stdout/stderr loses log lines, never the process
silenceSdkNodeWarning(); // no AWS SDK notice about Node 20 in operators' output (env.ts says why)

const cli = globalOptions(yargs(hideBin(process.argv)))
  .scriptName('ott')
  .usage('$0 <command> [options]\n\nMoves objects from S3 to GCS through CloudFront, with the state of every subfolder in MySQL.')
  .demandCommand(1, 'name a command (ott --help lists them)')
  .strict()
  .wrap(Math.min(110, process.stdout.columns || 110));

for (const c of commands) cli.command(c);

await cli.parseAsync();
