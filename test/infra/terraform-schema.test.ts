// infra/terraform checked against the Google providers' schema at the version the lock file selects,
// offline: a misspelled argument, block or type, or a missing required argument, fails here before any
// `terraform plan`. The schema comes from test/infra/schema/google-provider.json (see extract.ts there).
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from '@cdktf/hcl2json';
import { child, loadTerraform, TF_DIR, withEditedCopy, type Block, type TfModule } from './hcl.js';
import { loadSchema, schemaViolations, type SchemaDoc } from './schema.js';

let tf: TfModule;
let schema: SchemaDoc;
beforeAll(async () => {
  tf = await loadTerraform();
  schema = loadSchema();
});

interface LockEntry {
  version: string;
  constraints?: string;
  hashes: string[];
}
async function lockFile(): Promise<Record<string, LockEntry>> {
  const doc = (await parse('.terraform.lock.hcl', await readFile(`${TF_DIR}.terraform.lock.hcl`, 'utf8'))) as { provider: Record<string, LockEntry[]> };
  return Object.fromEntries(Object.entries(doc.provider).map(([k, v]) => [k, v[0]]));
}

describe('terraform against the provider schema', () => {
  it('uses only known types, arguments and blocks, and sets every required one', () => {
    expect(Object.keys(tf.resources).length).toBeGreaterThan(20);
    expect(schemaViolations(tf, schema)).toEqual([]);
  });

  it('checks at the version the lock file selects, which is the lowest the constraints allow', async () => {
    const lock = await lockFile();
    const tfBlock = tf.raw.flatMap((d) => (d.terraform ?? []) as Block[])[0];
    const providers = child(tfBlock, 'required_providers') as Record<string, { source: string; version: string }>;
    expect(Object.keys(providers).sort()).toEqual(Object.keys(schema.providers).sort());
    for (const [name, p] of Object.entries(providers)) {
      const version = schema.providers[name].version;
      const locked = lock[`registry.terraform.io/${p.source}`];
      expect(locked, `${p.source} is not in .terraform.lock.hcl`).toBeDefined();
      expect(locked.version, `${p.source}: lock vs schema`).toBe(version);
      expect(p.version, `${name}: the lower bound of the constraint is the schema's version`).toMatch(new RegExp(`^>= ${version.replaceAll('.', '\\.')},`));
      expect(locked.constraints).toBe(p.version);
      // zh: hashes are the registry's per-platform zip checksums (one per OS/arch); h1: the unpacked package.
      expect(locked.hashes.filter((h) => /^zh:[0-9a-f]{64}$/.test(h)).length, `${p.source} zh hashes`).toBeGreaterThanOrEqual(10);
      expect(locked.hashes.every((h) => /^(zh:[0-9a-f]{64}|h1:[A-Za-z0-9+/]{43}=)$/.test(h))).toBe(true);
    }
  });
});

describe('the schema check catches a broken copy', () => {
  const cases: { name: string; file: string; from: string; to: string; expect: RegExp }[] = [
    { name: 'a misspelled argument', file: 'pubsub.tf', from: 'ack_deadline_seconds       = var.ack_deadline_seconds', to: 'ack_deadline_second = var.ack_deadline_seconds', expect: /google_pubsub_subscription\.work\.ack_deadline_second: no such argument/ },
    { name: 'a misspelled argument in a nested block', file: 'pubsub.tf', from: 'max_delivery_attempts = var.max_delivery_attempts', to: 'max_delivery_attempt = var.max_delivery_attempts', expect: /dead_letter_policy\.max_delivery_attempt: no such argument/ },
    { name: 'a misspelled block', file: 'compute.tf', from: 'shielded_instance_config {', to: 'shielded_instance_configs {', expect: /shielded_instance_configs: no such argument or block/ },
    { name: 'a beta-only field on the GA provider', file: 'compute.tf', from: 'provider     = google-beta # scheduling.graceful_shutdown', to: '', expect: /scheduling\.graceful_shutdown: no such argument or block/ },
    { name: 'an unknown resource type', file: 'sql.tf', from: 'resource "google_sql_database" "ott"', to: 'resource "google_sql_databse" "ott"', expect: /no resource type google_sql_databse/ },
    { name: 'a missing required argument', file: 'pubsub.tf', from: '  topic    = google_pubsub_topic.work[each.key].id\n', to: '', expect: /google_pubsub_subscription\.work: required argument topic is missing/ },
    { name: 'an unknown provider argument', file: 'versions.tf', from: '  region  = var.region\n  # The billing budget', to: '  regoin  = var.region\n  # The billing budget', expect: /provider google\.regoin: no such argument/ },
  ];

  it.each(cases)('reports $name ($file)', async ({ file, from, to, expect: want }) => {
    const found = await withEditedCopy(file, from, to, (copy) => schemaViolations(copy, schema));
    expect(found.join('\n')).toMatch(want);
  });

});
