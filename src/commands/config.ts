import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { loadConfig, migrateConfigEntity, putConfig } from '../common/config/load.js';
import { ConfigError } from '../common/config/validate.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

interface PutArgs extends GlobalArgs {
  file: string;
  to?: string;
  dryRun?: boolean;
}

/** Secret-bearing fields are ids or paths, never values; show them, but mask anything that looks like a key. */
function masked(config: object): object {
  return JSON.parse(JSON.stringify(config), (k, v) => (typeof v === 'string' && /BEGIN [A-Z ]*PRIVATE KEY/.test(v) ? '[REDACTED]' : v));
}

export const configCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'config <action>',
  describe:
    'Manage the configuration entity. `config put --config-key KIND/NAME --file cfg.json` validates a JSON config and writes it ' +
    'to Cloud Datastore; `config show` prints the effective config (defaults filled in, secrets masked) from --config or --config-key; ' +
    "`config migrate --config-key KIND/NAME [--to KIND/NAME] [--dry-run]` rewrites a reference design's entity into ours and prints " +
    'every change: SQL fields dropped (each with what replaced it), Datastore datetimes and numbers stored as strings converted, None fields dropped.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { choices: ['put', 'show', 'migrate'] as const, demandOption: true })
      .option('file', { type: 'string', describe: 'JSON config to validate and write (config put)' })
      .option('to', { type: 'string', describe: 'config migrate: write the result to this KIND/NAME (default: over the entity read)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'config migrate: print the changes, write nothing' }) as unknown as Argv<GlobalArgs>,
  handler: async (argv) => {
    const a = argv as unknown as PutArgs & { action: string };
    try {
      if (a.action === 'put') {
        if (!a.file || !a.configKey) throw new ConfigError('config put needs --file cfg.json and --config-key KIND/NAME', []);
        let raw: unknown;
        try {
          raw = JSON.parse(await readFile(a.file, 'utf8'));
        } catch (err) {
          throw new ConfigError(`cannot read ${a.file} as JSON: ${(err as Error).message}`, []);
        }
        await putConfig(a.configKey, raw, a.gcpProject);
        process.stdout.write(`config ${a.configKey} written (validated)\n`);
      } else if (a.action === 'migrate') {
        if (!a.configKey) throw new ConfigError('config migrate needs --config-key KIND/NAME (the reference entity)', []);
        const r = await migrateConfigEntity(a.configKey, a.gcpProject, { to: a.to, dryRun: a.dryRun });
        const lines = [`config ${a.configKey}: ${r.changes.length} change(s) from the reference design`, ...r.changes.map((c) => `  ${c.field}: ${c.note}`), ...r.advice.map((c) => `note: ${c.field}: ${c.note}`)];
        lines.push(r.written ? `written to ${r.written} (validated)` : 'dry run: nothing written (the result validates)');
        process.stdout.write(`${lines.join('\n')}\n`);
      } else {
        const config = await loadConfig({ file: a.config, configKey: a.configKey, gcpProject: a.gcpProject });
        process.stdout.write(JSON.stringify(masked(config), null, 2) + '\n');
      }
    } catch (err) {
      reportFailure(`config ${a.action}`, err);
      process.exitCode = err instanceof ConfigError ? 78 : 1;
    }
  },
};
