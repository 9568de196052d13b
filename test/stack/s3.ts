// S3: s3rver 3.7.1 as patched in patches/ (see test/stack/README.md for what the patch fixes).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { StackContext, StartedService } from './index.js';
import { freePort, httpAnswers, spawnService } from './proc.js';

const require = createRequire(import.meta.url);

export async function startS3(ctx: StackContext): Promise<StartedService> {
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const port = await freePort();
  const svc = await spawnService({
    name: 's3',
    cmd: process.execPath,
    // No --openssl-legacy-provider: the patched continuation tokens no longer use DES.
    args: [bin, '-d', ctx.dir, '-a', '127.0.0.1', '-p', String(port), '--silent'],
    cwd: ctx.dir,
    logFile: join(ctx.logDir, 's3.log'),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/`),
  });
  return {
    name: 's3',
    env: {
      OTT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    },
    stop: () => svc.stop(),
  };
}
