// Permissions derived from the code: infra/permissions.json lists every Google API call in src/ (a scan
// finds them) and the permission each needs on which resource; the grants in infra/terraform must cover
// them for each mode's service account. The broken-copy cases show the check fails on the grants this
// deployment had before (publisher without pubsub.topics.get, reset --purge without consume, workers
// unable to dead-letter) and on a call the table does not know.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTerraform, TF_DIR, type TfModule } from './hcl.js';
import { grantsOf, loadTable, missingPermissions, REPO, scanCalls, unknownRoles, unlistedCalls, type PermissionTable } from './permissions.js';

let tf: TfModule;
let table: PermissionTable;
beforeAll(async () => {
  tf = await loadTerraform();
  table = loadTable();
});

async function withCopy<T>(from: string, edit: (dir: string) => Promise<void>, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ott-perm-'));
  try {
    // A copy of infra/terraform, or of the repo's src/ only (not node_modules).
    if (from === REPO) await cp(join(REPO, 'src'), join(dir, 'src'), { recursive: true });
    else await cp(from, dir, { recursive: true });
    await edit(dir);
    return await use(`${dir}/`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
async function replaceIn(file: string, from: string, to: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} no longer contains the text this case changes: ${from.slice(0, 80)}`);
  await writeFile(file, text.replace(from, to));
}

describe('infra/permissions.json against src/', () => {
  it('lists every Google API call the code makes, with its count, and nothing it no longer makes', () => {
    const found = scanCalls();
    expect(found.size).toBeGreaterThan(15);
    expect(unlistedCalls(table, found)).toEqual([]);
  });

  it('fails when the code calls an API the table does not list', async () => {
    const problems = await withCopy(
      REPO,
      (dir) => replaceIn(join(dir, 'src/worker/listing.ts'), 'const bucket = ctx.clients.gcs().bucket(ctx.config.gcs_bucket!);', 'const bucket = ctx.clients.gcs().bucket(ctx.config.gcs_bucket!);\n  await bucket.deleteFiles({ prefix: "x/" });'),
      async (dir) => unlistedCalls(table, scanCalls(`${dir}src`)),
    );
    expect(problems).toEqual(['src/worker/listing.ts: bucket.deleteFiles: not in infra/permissions.json']);
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
    const missing = await withCopy(
      TF_DIR,
      async (dir) => {
        // Turn the resource into a local that nothing reads: the grant is gone, the file still parses.
        const file = join(dir, 'iam.tf');
        const text = await readFile(file, 'utf8');
        const start = text.indexOf(from);
        expect(start, `iam.tf no longer has ${from}`).toBeGreaterThanOrEqual(0);
        const end = text.indexOf('\n}\n', start) + 3;
        await writeFile(file, text.slice(0, start) + text.slice(end));
      },
      async (dir) => missingPermissions(await loadTerraform(dir), table),
    );
    expect(missing.join('\n')).toMatch(want);
  });

  it('fails when a worker reads the bucket with a role that cannot write it', async () => {
    const missing = await withCopy(
      TF_DIR,
      (dir) => replaceIn(join(dir, 'main.tf'), 'bucket_role       = "roles/storage.objectUser"', 'bucket_role       = "roles/storage.objectViewer"'),
      async (dir) => missingPermissions(await loadTerraform(dir), table),
    );
    expect(missing.join('\n')).toMatch(/^rsync lacks storage\.objects\.(create|delete) on bucket/m);
  });

  it('refuses a grant whose for_each it cannot evaluate instead of ignoring it', async () => {
    await expect(
      withCopy(
        TF_DIR,
        (dir) => replaceIn(join(dir, 'iam.tf'), 'for_each = toset(local.project_roles)', 'for_each = toset(concat(local.project_roles, []))'),
        async (dir) => missingPermissions(await loadTerraform(dir), table),
      ),
    ).rejects.toThrow(/not modelled/);
  });
});
