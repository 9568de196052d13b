#!/usr/bin/env node
// The `ott` command. A built copy (dist/, as installed on the VMs) runs as plain JavaScript;
// a source checkout runs the TypeScript directly through tsx (a dev dependency), so `npx ott` works
// right after `npm ci`. A production install (`npm ci --omit=dev`) has no tsx and needs dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The AWS SDK prints a multi-line NodeVersionSupportWarning on stderr at every start under Node < 22.
// Production VMs run the Node LTS (24, infra/image); on this machine's Node 20 the warning is noise in
// operators' output and in the JSON log stream, so it is switched off here, before any SDK loads,
// through the SDK's own documented variable (children of --processes inherit it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const built = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(`ott: no built copy (${built}) and no tsx to run the sources: run \`npm run build\`, or \`npm ci\` with dev dependencies\n`);
    process.exit(2);
  }
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
