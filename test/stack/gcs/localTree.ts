// A local directory tree for the CLI conformance tests: odd names, an empty file, and one file above
// gcloud's 8 MiB resumable-upload threshold, so both upload paths run.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export const TREE_FILES: Record<string, number> = {
  'a.txt': 12,
  empty: 0,
  'sub/big.bin': 9 * 1024 * 1024 + 17,
  'sub/sp ace+plus%pct.txt': 100,
  'ünï/日本語.txt': 2000,
  'deep/er/still/x.dat': 300_000,
};

export function makeTree(root: string): void {
  for (const [rel, size] of Object.entries(TREE_FILES)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, randomBytes(size));
  }
}

/** relative path -> md5 (hex) of every file under root. */
export function treeDigest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(root, p)] = createHash('md5').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}
