// Starts the Secret Manager fake as its own process.
import { join } from 'node:path';
import { connect } from 'node:net';
import type { StackContext, StartedService } from '../index.js';
import { freePort, spawnService, tsNodeArgs } from '../proc.js';

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startSecretManager(ctx: StackContext): Promise<StartedService> {
  const port = await freePort();
  const svc = await spawnService({
    name: 'secretManager',
    cmd: process.execPath,
    args: tsNodeArgs(join(import.meta.dirname, 'server.ts'), ['--port', String(port)]),
    cwd: ctx.dir,
    logFile: join(ctx.logDir, 'secretManager.log'),
    ready: () => tcpAnswers(port),
  });
  return { name: 'secretManager', env: { OTT_SECRET_MANAGER_ENDPOINT: `127.0.0.1:${port}` }, stop: () => svc.stop() };
}
