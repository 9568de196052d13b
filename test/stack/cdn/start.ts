// Starts the CloudFront fixture as its own process, in front of the S3 emulator started before it.
import { join } from 'node:path';
import type { StackContext, StartedService } from '../index.js';
import { freePort, httpAnswers, spawnService, tsNodeArgs } from '../proc.js';
import { checkBytesPerSecond } from './throttle.js';

export interface CdnOptions {
  /** Pace every TCP connection's response bodies to at most this many bytes per second (a WAN link). */
  bytesPerSecondPerConnection?: number;
}

export async function startCdn(ctx: StackContext, opts: CdnOptions = {}): Promise<StartedService> {
  const s3 = ctx.env.OTT_S3_ENDPOINT;
  if (!s3) throw new Error('the CDN fixture fronts S3: start the s3 service before cdn (OTT_S3_ENDPOINT is not set)');
  const cap = opts.bytesPerSecondPerConnection === undefined ? undefined : checkBytesPerSecond(opts.bytesPerSecondPerConnection);
  const port = await freePort();
  const svc = await spawnService({
    name: 'cdn',
    cmd: process.execPath,
    args: tsNodeArgs(join(import.meta.dirname, 'server.ts'), ['--port', String(port), '--s3', s3, ...(cap === undefined ? [] : ['--bytes-per-second-per-connection', String(cap)])]),
    cwd: ctx.dir,
    logFile: join(ctx.logDir, 'cdn.log'),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/__stats`),
  });
  return { name: 'cdn', env: { OTT_CDN_ENDPOINT: `http://127.0.0.1:${port}` }, stop: () => svc.stop() };
}
