#!/usr/bin/env node
// The `ott` command. A built copy (dist/, as installed on the VMs) runs as plain JavaScript;
// a source checkout runs the TypeScript directly through tsx, so `npx ott` works right after `npm ci`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
