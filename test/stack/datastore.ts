// Google's Datastore emulator, from its jar, in its own temp dir (it writes WEB-INF/ into its cwd).
import { join } from 'node:path';
import type { StackContext, StartedService } from './index.js';
import { findJar, javaBinary } from './gcloudSdk.js';
import { freePort, httpAnswers, spawnService } from './proc.js';

export async function startDatastore(ctx: StackContext): Promise<StartedService> {
  const jar = findJar('platform/cloud-datastore-emulator', /^CloudDatastore\.jar$/, 'google-cloud-cli-datastore-emulator');
  const port = await freePort();
  const svc = await spawnService({
    name: 'datastore',
    cmd: javaBinary(),
    args: [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-cp',
      jar,
      'com.google.cloud.datastore.emulator.CloudDatastore',
      'start',
      '--host=127.0.0.1',
      `--port=${port}`,
      '--store_on_disk=false',
      '--consistency=1.0',
    ],
    cwd: ctx.dir,
    logFile: join(ctx.logDir, 'datastore.log'),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/`),
    readyTimeoutMs: 60_000,
  });
  return {
    name: 'datastore',
    env: { DATASTORE_EMULATOR_HOST: `127.0.0.1:${port}`, DATASTORE_PROJECT_ID: 'ott-local' },
    stop: () => svc.stop(),
  };
}
