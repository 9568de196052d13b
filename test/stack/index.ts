// Starts the whole local cloud (or the services named in `only`) and stops it again.
// Order matters: the CDN fixture fronts S3, so S3 starts first and its env is handed on.
// This is the stack's public face: the demo imports nothing else from test/ (eslint.config.js enforces it),
// so the clients it needs for the stack's services are exported here too.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StackContext {
  /** A fresh temp dir this service owns. */
  dir: string;
  /** Where its log file goes (kept after stop for diagnosis). */
  logDir: string;
  /** Env exported by the services started before this one. */
  env: Readonly<Record<string, string>>;
}

export interface StartedService {
  name: string;
  env: Record<string, string>;
  stop(): Promise<void>;
  /** Services that can have an outage (chaos runs): stop now, keeping port and data, for up() to resume. */
  down?(): Promise<void>;
  /** Starts a service that is down again on the same port with the same data; resolves once it answers. */
  up?(): Promise<void>;
}

type Starter = (ctx: StackContext) => Promise<StartedService>;

/** Every service, in start order, loaded lazily so one missing tool names itself clearly. */
const SERVICES: ReadonlyArray<{ name: string; load: (opts: StackOptions) => Promise<Starter> }> = [
  {
    name: 'mariadb',
    load: async (opts) => {
      const { startMariadb } = await import('./mariadb.js');
      return (ctx) => startMariadb(ctx, { tls: opts.mariadbTls });
    },
  },
  { name: 'pubsub', load: async () => (await import('./pubsub.js')).startPubsub },
  { name: 'datastore', load: async () => (await import('./datastore.js')).startDatastore },
  { name: 's3', load: async () => (await import('./s3.js')).startS3 },
  { name: 'gcs', load: async () => (await import('./gcs/start.js')).startGcs },
  { name: 'cdn', load: async () => (await import('./cdn/start.js')).startCdn },
  { name: 'secretManager', load: async () => (await import('./secretManager/start.js')).startSecretManager },
];

import { startControl } from './control.js';
import type { MariadbTls } from './mariadb.js';
import { onLivePidsChange } from './proc.js';
import { reapOrphans } from './reap.js';

export { makeS3Client } from './s3Client.js';
export { makeSecretClient } from './secretManager/client.js';

export const SERVICE_NAMES = SERVICES.map((s) => s.name);

export interface Stack {
  env: Record<string, string>;
  rootDir: string;
  /** A started service by name (for down()/up() in this process; other processes use OTT_STACK_CONTROL). */
  service(name: string): StartedService | undefined;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Start only these services (default: all, or the comma list in OTT_STACK_ONLY). */
  only?: string[];
  /** Keep the temp dirs after stop (logs survive anyway under rootDir/logs until stop). */
  keepDirs?: boolean;
  /** MariaDB with TLS (its own CA, made by the test): the TLS tests start a private one this way. */
  mariadbTls?: MariadbTls;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const only = opts.only ?? (process.env.OTT_STACK_ONLY ? process.env.OTT_STACK_ONLY.split(',').map((s) => s.trim()) : undefined);
  for (const name of only ?? []) {
    if (!SERVICE_NAMES.includes(name)) throw new Error(`unknown stack service "${name}"; expected one of ${SERVICE_NAMES.join(', ')}`);
  }
  reapOrphans();
  const rootDir = mkdtempSync(join(tmpdir(), 'ott-stack-'));
  // Our PIDs on disk: if this process is SIGKILLed, the next start reaps what it left behind.
  onLivePidsChange((pids) => writeFileSync(join(rootDir, 'owner.json'), JSON.stringify({ owner: process.pid, pids })));
  const logDir = join(rootDir, 'logs');
  mkdirSync(logDir);
  const env: Record<string, string> = {
    METADATA_SERVER_DETECTION: 'none',
    GOOGLE_CLOUD_PROJECT: 'ott-local',
    OTT_STACK_LOGS: logDir,
  };
  const started: StartedService[] = [];
  const control = await startControl(() => started);
  env.OTT_STACK_CONTROL = control.url;
  const stop = async (): Promise<void> => {
    await control.close();
    for (const svc of started.reverse()) await svc.stop().catch(() => undefined);
    started.length = 0;
    if (!opts.keepDirs) rmSync(rootDir, { recursive: true, force: true });
  };
  try {
    for (const svc of SERVICES) {
      if (only && !only.includes(svc.name)) continue;
      const dir = join(rootDir, svc.name);
      mkdirSync(dir);
      const starter = await svc.load(opts);
      const s = await starter({ dir, logDir, env: { ...env } });
      started.push(s);
      Object.assign(env, s.env);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, rootDir, stop, service: (name) => started.find((s) => s.name === name) };
}
