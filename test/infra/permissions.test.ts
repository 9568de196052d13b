// Permissions derived from the code: infra/permissions.json lists every Google API call in src/ (a scan
// finds them) and the permission each needs on which resource; the grants in infra/terraform must cover
// them for each mode's service account. The broken-copy cases show the check fails on the grants this
// deployment had before (publisher without pubsub.topics.get, reset --purge without consume, workers
// unable to dead-letter) and on a call the table does not know.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTerraform, TF_DIR, withEditedCopy, type TfModule } from './hcl.js';
import { grantsOf, loadTable, missingPermissions, REPO, scanCalls, unknownRoles, unlistedCalls, type PermissionTable } from './permissions.js';

let tf: TfModule;
let table: PermissionTable;
beforeAll(async () => {
  tf = await loadTerraform();
  table = loadTable();
});

/** The text of one resource block of iam.tf, to cut out of a copy. */
async function iamBlock(header: string): Promise<string> {
  const text = await readFile(join(TF_DIR, 'iam.tf'), 'utf8');
  const start = text.indexOf(header);
  if (start < 0) throw new Error(`iam.tf no longer has ${header}`);
  return text.slice(start, text.indexOf('\n}\n', start) + 3);
}

describe('infra/permissions.json against src/', () => {
  it('lists every Google API call the code makes, with its count, and nothing it no longer makes', () => {
    const found = scanCalls();
    expect(found.size).toBeGreaterThan(15);
    expect(unlistedCalls(table, found)).toEqual([]);
  });

  it('fails when the code calls an API the table does not list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ott-perm-'));
    try {
      await cp(join(REPO, 'src'), join(dir, 'src'), { recursive: true });
      const file = join(dir, 'src/worker/listing.ts');
      const line = 'const bucket = ctx.clients.gcs().bucket(ctx.config.gcs_bucket!);';
      const text = await readFile(file, 'utf8');
      expect(text).toContain(line);
      await writeFile(file, text.replace(line, `${line}\n  await bucket.deleteFiles({ prefix: "x/" });`));
      expect(unlistedCalls(table, scanCalls(join(dir, 'src')))).toEqual(['src/worker/listing.ts: bucket.deleteFiles: not in infra/permissions.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('describes every role the Terraform grants', () => {
    expect(unknownRoles(tf, table)).toEqual([]);
  });
});

describe('infra/terraform grants what the code needs', () => {
  it('gives every mode and the publisher each permission its code path uses, on the resource it uses', () => {
    expect(grantsOf(tf).length).toBeGreaterThan(20);
    expect(missingPermissions(tf, table)).toEqual([]);
  });

  it('grants Pub/Sub and Secret Manager roles on single resources, never on the project', () => {
    for (const g of grantsOf(tf)) {
      if (/^roles\/(pubsub|secretmanager|storage)\./.test(g.role)) expect(g.resource, `${g.from}: ${g.role}`).not.toBe('project');
    }
  });

  // The grants as they were before this table existed: each row removes one grant the code needs.
  const before: { name: string; from: string; expect: RegExp }[] = [
    { name: 'the publisher with roles/pubsub.publisher only (no pubsub.topics.get)', from: 'resource "google_pubsub_topic_iam_member" "publisher_topic_metadata"', expect: /^publisher lacks pubsub\.topics\.get on google_pubsub_topic\.work\[cdnTransfer\]: src\/publisher\/topic\.ts: topic\.getMetadata/m },
    { name: 'reset --purge without consume on the subscription', from: 'resource "google_pubsub_subscription_iam_member" "publisher_purge"', expect: /^publisher lacks pubsub\.subscriptions\.consume on google_pubsub_subscription\.work\[syncCheck\]: src\/ops\/reset\.ts: sub\.seek/m },
    { name: 'workers that cannot publish to their dead-letter topic', from: 'resource "google_pubsub_topic_iam_member" "worker_dead_letter"', expect: /^cdnTransfer lacks pubsub\.topics\.publish on google_pubsub_topic\.dead_letter\[cdnTransfer\]: src\/worker\/errorTopic\.ts/m },
  ];

  it.each(before)('fails on $name', async ({ from, expect: want }) => {
    const missing = await withEditedCopy('iam.tf', await iamBlock(from), '', (copy) => missingPermissions(copy, table));
    expect(missing.join('\n')).toMatch(want);
  });

  it('fails on all three at once, and on nothing else: the grants as they were', async () => {
    const blocks = await Promise.all(before.map((b) => iamBlock(b.from)));
    const text = await readFile(join(TF_DIR, 'iam.tf'), 'utf8');
    const missing = await withEditedCopy('iam.tf', text, blocks.reduce((t, b) => t.replace(b, ''), text), (copy) => missingPermissions(copy, table));
    const kinds = [...new Set(missing.map((m) => /^(\S+) lacks (\S+) on (google_[a-z_]+\.[a-z_]+)/.exec(m)!.slice(1).join(' ').replace(/^(cdnTransfer|syncCheck|rsync) /, 'worker ')))].sort();
    expect(kinds).toEqual(['publisher pubsub.subscriptions.consume google_pubsub_subscription.work', 'publisher pubsub.topics.get google_pubsub_topic.work', 'worker pubsub.topics.publish google_pubsub_topic.dead_letter']);
  });

  it('fails when a worker reads the bucket with a role that cannot write it', async () => {
    const missing = await withEditedCopy('main.tf', 'bucket_role       = "roles/storage.objectUser"', 'bucket_role       = "roles/storage.objectViewer"', (copy) => missingPermissions(copy, table));
    expect(missing.join('\n')).toMatch(/^rsync lacks storage\.objects\.(create|delete) on bucket/m);
  });

  it('refuses a grant whose for_each it cannot evaluate instead of ignoring it', async () => {
    await expect(withEditedCopy('iam.tf', 'for_each = toset(local.project_roles)', 'for_each = toset(concat(local.project_roles, []))', (copy) => missingPermissions(copy, table))).rejects.toThrow(/not modelled/);
  });
});
