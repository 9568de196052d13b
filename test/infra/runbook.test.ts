// infra/README.md, the runbook: it covers every step, its commands name outputs and variables that exist,
// and the sizing example shows its formulas and labels its assumptions.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { INFRA_DIR, loadTerraform, type TfModule } from './hcl.js';

let readme: string;
let tf: TfModule;
beforeAll(async () => {
  readme = await readFile(`${INFRA_DIR}README.md`, 'utf8');
  tf = await loadTerraform();
});

describe('infra/README.md', () => {
  it('walks through deploy, secrets, config, dump and publishers, status, scale, reset and tear down', () => {
    for (const step of ['Build the worker image', 'Deploy', 'Secrets', 'Config entities', 'Run: migrate, dump, publish', 'Watch', 'Scale', 'reset', 'Tear down', 'Sizing example']) {
      expect(readme, step).toContain(step);
    }
    for (const cmd of ['terraform apply', 'gcloud secrets versions add', 'ott config put', 'ott migrate', 'ott dump', 'ott publishObjectsList', 'ott publishDirList', 'ott status', 'ott reset', 'terraform destroy']) {
      expect(readme, cmd).toContain(cmd);
    }
  });

  it('only names Terraform outputs that exist', () => {
    const named = [...readme.matchAll(/terraform output (?:-json |-raw )?([a-z_]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(3);
    for (const o of named) expect(tf.outputs[o], `output ${o}`).toBeDefined();
  });

  it('only tells the operator to set variables that exist', () => {
    const named = [...readme.matchAll(/`([a-z][a-z0-9_]+)( = [^`]+)?`/g)].map((m) => m[1]).filter((n) => n.includes('_'));
    const configFields = ['grace_period_seconds', 'max_rsync_attempts', 'transfer_concurrency', 'rsync_engine', 's3_bucket', 'pubsub_topic_id', 'pubsub_subscription_id', 'error_pubsub_topic_id', 'url_signer_key_pair_id', 'num_single_message', 'max_replicas', 'min_replicas'];
    const known = new Set([...Object.keys(tf.variables), ...Object.keys(tf.outputs), ...configFields, 'update_policy', 'force_destroy', 'num_undelivered_messages', 'oldest_unacked_message_age', 'dropped_sent_packets_count', 'max_connections']);
    const unknown = [...new Set(named)].filter((n) => !known.has(n));
    expect(unknown, 'names in backticks that are neither variables, outputs nor config fields').toEqual([]);
  });

  it('sizes ~1 PB / ~3 billion objects with formulas, labelled assumptions and every cost line', () => {
    const sizing = readme.slice(readme.indexOf('## 12. Sizing example'));
    expect(sizing).toContain('bench/RESULTS.md');
    expect(sizing).toMatch(/\*\*assumed\*\*/);
    expect(sizing).toContain('time = max( B / (N_vm × T_vm) ,  N_obj / (N_vm × R_vm) )');
    for (const line of ['S3 → internet directly', 'CloudFront → internet', 'S3 → CloudFront (origin fetch)', 'Pub/Sub', 'GCS class A operations', 'Cloud NAT', 'state-table rows', 'cdnTransfer messages']) {
      expect(sizing, line).toContain(line);
    }
  });
});
