// Conformance: rclone's gcs backend (Go, google.golang.org/api) against our emulator.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage, type Bucket } from '@google-cloud/storage';
import { uniqueName } from '../../helpers/names.js';
import { makeTree, TREE_FILES } from './localTree.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local' });
let bucket: Bucket;
let work: string;
let conf: string;

/** rclone with our config; AWS_CA_BUNDLE is dropped because it breaks rclone on these machines. */
async function rclone(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('env', ['-u', 'AWS_CA_BUNDLE', 'rclone', '--config', conf, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rclone ${args.join(' ')} failed: ${err.message}\nstderr:\n${stderr}`));
      else resolve(stdout);
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ott-rclone-'));
  conf = join(work, 'rclone.conf');
  writeFileSync(conf, `[gcs]\ntype = google cloud storage\nendpoint = ${endpoint}/storage/v1/\nanonymous = true\nbucket_policy_only = true\n`);
  [bucket] = await storage.createBucket(uniqueName('rcl'));
  return () => rmSync(work, { recursive: true, force: true });
});

describe('rclone against the GCS emulator', () => {
  it('copies a tree, checks it (sizes and md5), and lists the right sizes', async () => {
    const src = join(work, 'src');
    makeTree(src);
    await rclone(['copy', src, `gcs:${bucket.name}/x`]);
    const check = await rclone(['check', src, `gcs:${bucket.name}/x`]).catch((err: Error) => err.message);
    expect(check).not.toMatch(/failed|differences found: [1-9]/);
    const listed = JSON.parse(await rclone(['lsjson', '-R', '--files-only', `gcs:${bucket.name}/x`])) as Array<{ Path: string; Size: number }>;
    const sizes = Object.fromEntries(listed.map((e) => [e.Path, e.Size]));
    expect(sizes).toEqual(TREE_FILES);
  });

  it('uploads a file of several resumable chunks (Go clients ask for 200 + X-Http-Status-Code-Override: 308)', async () => {
    const src = join(work, 'chunks');
    mkdirSync(src);
    // Above rclone's 16 MiB chunk and not a multiple of it: one intermediate chunk, then the final one.
    writeFileSync(join(src, 'big.bin'), randomBytes(17 * 1024 * 1024 + 5));
    await rclone(['copy', src, `gcs:${bucket.name}/chunks`]);
    expect(await rclone(['check', src, `gcs:${bucket.name}/chunks`]).catch((err: Error) => err.message)).not.toMatch(/failed|differences found: [1-9]/);
    const [meta] = await bucket.file('chunks/big.bin').getMetadata();
    expect(Number(meta.size)).toBe(17 * 1024 * 1024 + 5);
  });

  it('check notices an object whose bytes differ', async () => {
    const src = join(work, 'src2');
    makeTree(src);
    await rclone(['copy', src, `gcs:${bucket.name}/y`]);
    await bucket.file('y/a.txt').save('not the same 12');
    await expect(rclone(['check', src, `gcs:${bucket.name}/y`])).rejects.toThrow(/1 differences found/);
  });
});
