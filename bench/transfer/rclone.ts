// The peer: rclone 1.60 copying the same synthetic objects from the CDN fixture (`:http:` source,
// `--files-from-raw --no-traverse`) into the GCS emulator (gcs backend with `endpoint`, anonymous).
// rclone's http backend cannot append a signed query string per file (and the fixture takes no signed
// cookies), so the caller lifts the signature requirement on the synthetic origin for rclone's runs:
// rclone's requests skip the fixture's RSA check that ours and the bare loop pay for.
// With no hash on the http source, rclone verifies size only (GCS computes MD5 but has nothing to compare).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ObjectEntry } from '../../src/common/messages.js';

export interface RcloneOptions {
  /** `<cdn>/__synthetic/` */
  cdnBase: string;
  gcs: string;
  bucket: string;
  transfers: number;
  dir: string;
}

/** One `rclone copy`: wall-clock ms of the whole process, and its CPU ms (user + system, from /usr/bin/time). */
export async function runRclone(o: RcloneOptions, objects: ObjectEntry[]): Promise<{ ms: number; cpuMs: number }> {
  const list = join(o.dir, `rclone-files-${o.bucket}.txt`);
  writeFileSync(list, objects.map((e) => e.key).join('\n') + '\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_GCS_TYPE: 'google cloud storage',
    RCLONE_CONFIG_GCS_ENDPOINT: `${o.gcs}/storage/v1/`,
    RCLONE_CONFIG_GCS_ANONYMOUS: 'true',
    RCLONE_CONFIG_GCS_BUCKET_POLICY_ONLY: 'true',
  };
  delete env.AWS_CA_BUNDLE; // breaks rclone on these machines
  const args = [
    'copy',
    ':http:',
    `gcs:${o.bucket}`,
    '--http-url',
    o.cdnBase,
    '--files-from-raw',
    list,
    '--no-traverse',
    '--transfers',
    String(o.transfers),
    '--checkers',
    String(o.transfers),
    '--config',
    '/dev/null',
    '--retries',
    '1',
    '-q',
  ];
  const t = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'OTT-CPU %U %S', 'rclone', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-20_000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const ms = performance.now() - t;
  if (code !== 0) throw new Error(`rclone ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`);
  const m = /OTT-CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no CPU times from /usr/bin/time for rclone:\n${stderr.slice(-1000)}`);
  return { ms, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 };
}
