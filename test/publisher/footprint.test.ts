// What a process loads stays in its heap for its whole run, and a publisher runs for days on a bench line
// of 256 MiB (bench/scale.bench.ts). The CLI loads every command's file, so those files must not load the
// copy path (undici, the CloudFront signer, CRC32C: some 7 MiB of heap and 20 MiB of RSS): the modes that
// copy (cdnTransfer, rsync) load it when they run.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The packages a fresh process has loaded after importing `modules` (sources through tsx, as the CLI's). */
async function packagesLoadedBy(modules: string[]): Promise<string[]> {
  const script = [
    "import { createRequire } from 'node:module';",
    ...modules.map((m) => `await import(${JSON.stringify(m)});`),
    'const names = Object.keys(createRequire(import.meta.url).cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f)?.[1]);',
    'console.log(JSON.stringify([...new Set(names.filter(Boolean))]));',
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
  return JSON.parse(stdout) as string[];
}

const COPY_PATH = ['undici', '@aws-sdk/cloudfront-signer', '@node-rs/crc32'];

describe('what the CLI loads', () => {
  it('the commands and the publishers load no copy path; the copy path does load it (the check can fail)', async () => {
    const cli = await packagesLoadedBy(['./src/commands/index.ts', './src/publisher/publishObjectsList.ts', './src/publisher/publishDirList.ts']);
    expect(cli).toContain('mysql2'); // the check sees what a process loads
    expect(cli.filter((p) => COPY_PATH.includes(p))).toEqual([]);
    const copying = await packagesLoadedBy(['./src/worker/copy/index.ts']);
    expect(COPY_PATH.filter((p) => !copying.includes(p))).toEqual([]);
  });
});
