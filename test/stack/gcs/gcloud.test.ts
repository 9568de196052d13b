// Conformance: `gcloud storage` (Google's own CLI, apitools JSON client) against our emulator. Each
// command costs 1-2 s of Python start-up, so the test makes few of them and checks results itself.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage, type Bucket } from '@google-cloud/storage';
import { uniqueName } from '../../helpers/names.js';
import { gcloudStorage } from './gcloudCli.js';
import { makeTree, TREE_FILES, treeDigest } from './localTree.js';

const endpoint = process.env.OTT_GCS_ENDPOINT!;
const storage = new Storage({ apiEndpoint: endpoint, projectId: 'ott-local' });
let bucket: Bucket;
let work: string;

async function gcloud(args: string[]): Promise<string> {
  const r = await gcloudStorage(args, endpoint, work);
  if (!r.ok) throw new Error(`gcloud storage ${args.join(' ')} failed\nstderr:\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ott-gcloud-'));
  [bucket] = await storage.createBucket(uniqueName('gcl'));
  return () => rmSync(work, { recursive: true, force: true });
});

describe('gcloud storage against the GCS emulator', () => {
  it('lists buckets, copies a tree up and back byte for byte, and rsyncs with deletions', async () => {
    expect(await gcloud(['ls'])).toContain(`gs://${bucket.name}/`);

    const src = join(work, 'src');
    makeTree(src);
    await gcloud(['cp', '-r', src, `gs://${bucket.name}/up`]);
    const [files] = await bucket.getFiles({ prefix: 'up/' });
    // Like cp(1): copying to a destination that does not exist yet puts the tree's contents there.
    expect(files.map((f) => f.name).sort()).toEqual(Object.keys(TREE_FILES).map((k) => `up/${k}`).sort());

    const down = join(work, 'down');
    mkdirSync(down);
    await gcloud(['cp', '-r', `gs://${bucket.name}/up`, down]);
    expect(treeDigest(join(down, 'up'))).toEqual(treeDigest(src));

    // rsync: one file changed, one removed locally, one added; the removed one must go from the bucket.
    writeFileSync(join(src, 'a.txt'), 'changed content');
    rmSync(join(src, 'sub', 'sp ace+plus%pct.txt'));
    writeFileSync(join(src, 'new file.txt'), 'new');
    await gcloud(['rsync', '-r', '--delete-unmatched-destination-objects', src, `gs://${bucket.name}/up`]);
    const [after] = await bucket.getFiles({ prefix: 'up/' });
    const remote: Record<string, string> = {};
    for (const f of after) remote[f.name.slice('up/'.length)] = Buffer.from(f.metadata.md5Hash!, 'base64').toString('hex');
    expect(remote).toEqual(treeDigest(src));
  });
});
