// A real Ctx for a test: a validated config, secrets pointing at a fresh database, real clients on the
// local stack, captured log lines. Tests pass overrides for whatever they exercise.
import { createContext, type Ctx } from '../../src/common/context.js';
import { validateConfig } from '../../src/common/config/validate.js';
import { migrate } from '../../src/common/migrate.js';
import type { Secrets } from '../../src/common/secrets.js';
import { freshDatabase } from './db.js';

export interface TestCtx extends Ctx {
  logs: string[];
  abort(): void;
}

export async function testContext(mode: string, config: Record<string, unknown>, opts: { migrate?: boolean; mysql?: Secrets['mysql_config'] } = {}): Promise<TestCtx> {
  const mysql = opts.mysql ?? (await freshDatabase(mode.toLowerCase()));
  const secrets: Secrets = { aws_key_id: process.env.AWS_ACCESS_KEY_ID, aws_key_secret: process.env.AWS_SECRET_ACCESS_KEY, mysql_config: mysql };
  const logs: string[] = [];
  const ctl = new AbortController();
  const ctx = await createContext({
    mode,
    config: validateConfig({ mysql_table: 'transfer_state', credentials_file: '/dev/null', ...config }, 'test'),
    secrets,
    signal: ctl.signal,
    gcpProject: 'ott-local',
    writeLog: (line) => logs.push(line),
  });
  if (opts.migrate !== false) await migrate(ctx.db, ctx.config.mysql_table);
  return Object.assign(ctx, { logs, abort: () => ctl.abort(new Error('test aborted')) });
}
