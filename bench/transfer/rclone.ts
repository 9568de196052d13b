// The peer: rclone 1.60 copying the same synthetic objects from the CDN fixture (`:http:` source,
// `--files-from-raw --no-traverse`) into the GCS emulator (gcs backend with `endpoint`, anonymous).
// rclone's http backend cannot append a signed query string per file (and the fixture takes no signed
// cookies), so the caller lifts the signature requirement on the synthetic origin for rclone's runs:
// rclone's requests skip the fixture's RSA check that ours and the bare loop pay for.
// With no hash on the http source, rclone verifies size only (GCS computes MD5 but has nothing to compare);
// with `--http-no-head` it does not even know the size before the GET.
// One large object: rclone 1.60 reads with several ranged streams (`--multi-thread-streams`) only when
// the destination can be written at offsets, i.e. a local disk; to gcs it is one stream. So its best for
// one big file is either that one stream, or two steps through a local disk (multi-thread download, then
// upload, which then checks MD5 against GCS): `runRcloneViaDisk`.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ObjectEntry } from '../../src/common/messages.js';

export interface RcloneOptions {
  /** `<cdn>/__synthetic/` */
  cdnBase: string;
  gcs: string;
  bucket: string;
  dir: string;
  /** Settings under test, e.g. `--transfers 16 --http-no-head` or `--multi-thread-streams 8`. */
  flags: string[];
}

/** One rclone process: wall-clock ms and CPU ms (user + system, from /usr/bin/time). */
async function rclone(o: RcloneOptions, args: string[]): Promise<{ ms: number; cpuMs: number }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_GCS_TYPE: 'google cloud storage',
    RCLONE_CONFIG_GCS_ENDPOINT: `${o.gcs}/storage/v1/`,
    RCLONE_CONFIG_GCS_ANONYMOUS: 'true',
    RCLONE_CONFIG_GCS_BUCKET_POLICY_ONLY: 'true',
  };
  delete env.AWS_CA_BUNDLE; // breaks rclone on these machines
  const all = [...args, '--config', '/dev/null', '--retries', '1', '-q'];
  const t = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'OTT-CPU %U %S', 'rclone', ...all], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-20_000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  });
  const ms = performance.now() - t;
  if (code !== 0) throw new Error(`rclone ${all.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`);
  const m = /OTT-CPU ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no CPU times from /usr/bin/time for rclone:\n${stderr.slice(-1000)}`);
  return { ms, cpuMs: (Number(m[1]) + Number(m[2])) * 1000 };
}

function fileList(o: RcloneOptions, objects: ObjectEntry[]): string {
  const list = join(o.dir, `rclone-files-${o.bucket}.txt`);
  writeFileSync(list, objects.map((e) => e.key).join('\n') + '\n');
  return list;
}

/** `rclone copy :http: gcs:bucket` of exactly these objects, with the settings in `o.flags`. */
export async function runRclone(o: RcloneOptions, objects: ObjectEntry[]): Promise<{ ms: number; cpuMs: number }> {
  return rclone(o, ['copy', ':http:', `gcs:${o.bucket}`, '--http-url', o.cdnBase, '--files-from-raw', fileList(o, objects), '--no-traverse', '--gcs-no-check-bucket', ...o.flags]);
}

/**
 * Two steps through a local disk: `rclone copy :http: <dir>` (where `--multi-thread-streams` applies),
 * then `rclone copy <dir> gcs:bucket`. Timed and CPU-counted as the sum; the copy on disk is removed.
 */
export async function runRcloneViaDisk(o: RcloneOptions, objects: ObjectEntry[]): Promise<{ ms: number; cpuMs: number }> {
  const local = join(o.dir, `rclone-disk-${o.bucket}`);
  mkdirSync(local, { recursive: true });
  try {
    const down = await rclone(o, ['copy', ':http:', local, '--http-url', o.cdnBase, '--files-from-raw', fileList(o, objects), '--no-traverse', ...o.flags]);
    const up = await rclone(o, ['copy', local, `gcs:${o.bucket}`, '--gcs-no-check-bucket', '--transfers', String(Math.max(1, objects.length))]);
    return { ms: down.ms + up.ms, cpuMs: down.cpuMs + up.cpuMs };
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
}
