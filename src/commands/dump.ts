import type { Argv, CommandModule } from 'yargs';
import { run } from '../dump/dump.js';
import { runMode, type GlobalArgs } from './runMode.js';

interface DumpCliArgs extends GlobalArgs {
  dumpFile?: string;
}

export const dumpCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'dump',
  describe:
    'Load the subfolders under s3_root_prefix into the state table: listed from S3 (ListObjectsV2, Delimiter "/"), or read from ' +
    'a file written by `aws s3 ls s3://BUCKET/ROOT/` (--dump-file). Only new subfolders are inserted; existing rows are left as they ' +
    'are; subfolders a complete dump no longer lists are reported and marked (last_seen), never deleted; each run is recorded in ' +
    'dump_runs; unparseable lines are counted with their line numbers. One dump per table at a time.',
  builder: (y: Argv<GlobalArgs>) => y.option('dump-file', { alias: 'dump_file', type: 'string', describe: 'aws s3 ls output to load instead of listing S3' }) as Argv<GlobalArgs>,
  handler: (argv) => runMode('dump', argv, (ctx) => run(ctx, { dumpFile: (argv as DumpCliArgs).dumpFile })),
};
