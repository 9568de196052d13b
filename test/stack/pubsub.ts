// Google's Pub/Sub emulator, started from its jar directly: through `gcloud` the Java child outlives
// the wrapper when it is killed.
import { join } from 'node:path';
import type { StackContext, StartedService } from './index.js';
import { findJar, javaBinary } from './gcloudSdk.js';
import { freePort, httpAnswers, spawnService } from './proc.js';

export async function startPubsub(ctx: StackContext): Promise<StartedService> {
  const jar = findJar('platform/pubsub-emulator/lib', /^cloud-pubsub-emulator-.*-all\.jar$/, 'google-cloud-cli-pubsub-emulator');
  const port = await freePort();
  const svc = await spawnService({
    name: 'pubsub',
    cmd: javaBinary(),
    args: ['-Xmx384m', '-XX:+UseSerialGC', '-jar', jar, '--host=127.0.0.1', `--port=${port}`],
    cwd: ctx.dir,
    logFile: join(ctx.logDir, 'pubsub.log'),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/`),
    readyTimeoutMs: 60_000,
  });
  return {
    name: 'pubsub',
    env: { PUBSUB_EMULATOR_HOST: `127.0.0.1:${port}`, PUBSUB_PROJECT_ID: 'ott-local' },
    stop: () => svc.stop(),
  };
}
