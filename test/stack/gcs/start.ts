// Starts our GCS JSON API emulator as its own process.
import { join } from 'node:path';
import type { StackContext, StartedService } from '../index.js';
import { freePort, httpAnswers, spawnService, tsNodeArgs } from '../proc.js';

export interface GcsOptions {
  /** Keep metadata and hashes only (benchmarks). */
  discard?: boolean;
}

export async function startGcs(ctx: StackContext, opts: GcsOptions = {}): Promise<StartedService> {
  const port = await freePort();
  const args = ['--port', String(port), ...(opts.discard ? ['--discard'] : ['--dir', ctx.dir])];
  const svc = await spawnService({
    name: 'gcs',
    cmd: process.execPath,
    args: tsNodeArgs(join(import.meta.dirname, 'server.ts'), args),
    cwd: ctx.dir,
    logFile: join(ctx.logDir, opts.discard ? 'gcs-discard.log' : 'gcs.log'),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/__stats`),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return { name: 'gcs', env: { OTT_GCS_ENDPOINT: endpoint, STORAGE_EMULATOR_HOST: endpoint }, stop: () => svc.stop() };
}
