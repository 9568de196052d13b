// What every mode receives: config (validated, frozen), secrets, logger, database pool, lazy clients and
// the one shutdown signal. Built once per process by createContext; closed by closeContext.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Config } from './config/schema.js';
import { readEnv, type Endpoints } from './config/env.js';
import { loadConfig, type ConfigSource } from './config/load.js';
import { createLogger, type Logger } from './log.js';
import { loadSecrets, type Secrets } from './secrets.js';
import { createDb, type Db } from './db.js';
import { checkTls } from './mysqlConfig.js';
import { connectCloudSql, type CloudSqlLink } from './cloudSql.js';
import { createClients, type Clients } from './clients.js';

export interface Ctx {
  config: Readonly<Config>;
  secrets: Readonly<Secrets>;
  log: Logger;
  db: Db;
  clients: Clients;
  signal: AbortSignal;
  /** Owner id written into leases: host, pid and a random suffix (pids repeat across VMs). */
  workerId: string;
  project: string | undefined;
  endpoints: Readonly<Endpoints>;
  /** The Cloud SQL connector, when mysql_config names an instance: closed after the pool. */
  cloudSql?: CloudSqlLink;
}

export function newWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** One AbortController per process: SIGINT/SIGTERM abort it; a second signal exits at once. */
export function shutdownSignal(): AbortSignal {
  const ctl = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) process.exit(130);
    ctl.abort(new Error(`received ${sig}: shutting down`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return ctl.signal;
}

export interface CreateContextOptions extends ConfigSource {
  mode: string;
  signal?: AbortSignal;
  /** Tests inject a config/secrets object instead of reading them. */
  config?: Readonly<Config>;
  secrets?: Readonly<Secrets>;
  writeLog?: (line: string) => void;
}

export async function createContext(opts: CreateContextOptions): Promise<Ctx> {
  const env = readEnv();
  const config = opts.config ?? (await loadConfig(opts));
  const project = opts.gcpProject ?? config.gcp_project ?? env.defaultProject;
  const workerId = newWorkerId();
  const log = createLogger({ labels: { logger_name: config.logger_name, mode: opts.mode, worker: workerId }, level: env.logLevel, write: opts.writeLog });
  const secrets = opts.secrets ?? (await loadSecrets(config, project, env.endpoints));
  const cloudSql = await connectCloudSql(secrets.mysql_config, { sqlAdminEndpoint: env.endpoints.sqlAdmin });
  const db = createDb(secrets.mysql_config, cloudSql?.poolOptions);
  await checkTls(() => db.query('SELECT 1'), secrets.mysql_config).catch(async (err: unknown) => {
    await db.end();
    cloudSql?.close();
    throw err;
  });
  const clients = createClients(config, secrets, project, env.endpoints);
  const signal = opts.signal ?? shutdownSignal();
  // Every in-flight request, sleep and loop listens to this one signal (bounded by the modes' concurrency
  // limits), so Node's default of 10 listeners would warn about a leak that is not one.
  setMaxListeners(10_000, signal);
  return { config, secrets, log, db, clients, signal, workerId, project, endpoints: env.endpoints, cloudSql };
}

export async function closeContext(ctx: Ctx): Promise<void> {
  await Promise.allSettled([ctx.db.end().finally(() => ctx.cloudSql?.close()), ctx.clients.close()]);
}
