#!/usr/bin/env node
// The `ott` command. A built copy (dist/, as installed on the VMs) runs as plain JavaScript;
// a source checkout runs the TypeScript directly through tsx (a dev dependency), so `npx ott` works
// right after `npm ci`. A production install (`npm ci --omit=dev`) has no tsx and needs dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
