import { readFile } from 'node:fs/promises';
import type { Argv, CommandModule } from 'yargs';
import { loadConfig, putConfig } from '../common/config/load.js';
import { ConfigError } from '../common/config/validate.js';
import { reportFailure, type GlobalArgs } from './runMode.js';

interface PutArgs extends GlobalArgs {
  file: string;
}

/** Secret-bearing fields are ids or paths, never values; show them, but mask anything that looks like a key. */
function masked(config: object): object {
  return JSON.parse(JSON.stringify(config), (k, v) => (typeof v === 'string' && /BEGIN [A-Z ]*PRIVATE KEY/.test(v) ? '[REDACTED]' : v));
}

export const configCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'config <action>',
  describe:
    'Manage the configuration entity. `config put --config-key KIND/NAME --file cfg.json` validates a JSON config and writes it ' +
    'to Cloud Datastore; `config show` prints the effective config (defaults filled in, secrets masked) from --config or --config-key.',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .positional('action', { choices: ['put', 'show'] as const, demandOption: true })
      .option('file', { type: 'string', describe: 'JSON config to validate and write (config put)' }) as unknown as Argv<GlobalArgs>,
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
