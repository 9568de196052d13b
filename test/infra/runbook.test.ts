// infra/README.md, the runbook: it covers every step, its commands name outputs and variables that exist,
// and the sizing example shows its formulas and labels its assumptions.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { INFRA_DIR, loadTerraform, type TfModule } from './hcl.js';
import { exportedNames } from '../../src/common/metrics.js';

let readme: string;
let tf: TfModule;
beforeAll(async () => {
  readme = await readFile(`${INFRA_DIR}README.md`, 'utf8');
  tf = await loadTerraform();
});

describe('infra/README.md', () => {
  it('walks through deploy, secrets, config, dump and publishers, status, scale, reset and tear down', () => {
    for (const step of ['Build the worker image', 'Quota preflight', 'Deploy', 'Secrets', 'Config entities', 'Pilot', 'Staged ramp', 'Run: migrate, dump, publish', 'Alerts and Watch', 'Scale', 'Errors, dead letters, reset', 'Roll out a new version', 'Tear down', 'Permissions', 'Sizing example']) {
      expect(readme, step).toContain(`. ${step}`);
    }
    for (const cmd of ['terraform apply', 'ott config put', 'ott migrate', 'ott dump', 'ott publishObjectsList', 'ott publishDirList', 'ott status', 'ott reset', 'terraform destroy']) {
      expect(readme, cmd).toContain(cmd);
    }
  });

  /** The shell blocks of a section: the commands an operator runs. */
  const commandsOf = (title: string): string => {
    const start = readme.indexOf(`. ${title}\n`);
    expect(start, title).toBeGreaterThan(0);
    const body = readme.slice(start, readme.indexOf('\n## ', start + 1));
    return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
  };

  it('walks quota preflight -> apply -> pilot -> staged ramp -> alerts -> teardown, each step a command', () => {
    const order = ['Quota preflight', 'Deploy', 'Pilot', 'Staged ramp', 'Alerts and Watch', 'Tear down'].map((t) => readme.indexOf(`. ${t}\n`));
    expect(Math.min(...order)).toBeGreaterThan(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const preflight = commandsOf('Quota preflight');
    expect(preflight).toContain("terraform show -json plan | jq '.planned_values.outputs.quota_needs.value' > needs.json");
    expect(preflight).toContain('bash ../quota-preflight.sh --project "$P" --region "$R" --needs needs.json');
    expect(commandsOf('Deploy')).toContain('terraform apply plan');
    const pilot = commandsOf('Pilot');
    expect(pilot).toContain('ott dump $C --dump-file pilot-ls.txt'); // one subfolder
    expect(pilot).toMatch(/ott status \$C --json > s1\.json; sleep \d+; ott status \$C --json > s2\.json/); // measured per-VM rate
    expect(pilot).toContain('list-instances ott-cdn-transfer'); // the scale-in
    // The ramp: one command per stage, each a larger cap, ending without a cap.
    const ramp = readme.slice(readme.indexOf('. Staged ramp\n'), readme.indexOf('. Run: migrate'));
    const caps = [...ramp.matchAll(/`terraform apply -var 'replica_cap=\{cdnTransfer=(\d+)\}'`/g)].map((m) => Number(m[1]));
    expect(caps.length).toBeGreaterThanOrEqual(4);
    expect(caps).toEqual([...caps].sort((a, b) => a - b));
    expect(ramp).toContain("`terraform apply -var 'replica_cap={}'`");
    expect(commandsOf('Alerts and Watch')).toContain('gcloud alpha monitoring policies list');
    const down = commandsOf('Tear down');
    for (const c of ["terraform apply -var 'replica_cap={cdnTransfer=0,syncCheck=0,rsync=0}'", 'terraform destroy -var deletion_protection=false', 'gcloud compute images delete', 'gcloud storage buckets delete gs://my-tf-state']) expect(down).toContain(c);
    // No secret on a command line: values come from prompts into ephemeral variables.
    const secrets = commandsOf('Secrets');
    expect(secrets).toContain("read -rsp 'AWS secret access key: ' TF_VAR_aws_key_secret");
    expect(secrets).not.toMatch(/--password[ =]/);
    expect(readme).not.toMatch(/--password "\$/);
  });

  it('only names Terraform outputs that exist', () => {
    const named = [...readme.matchAll(/terraform output (?:-json |-raw )?([a-z_]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(3);
    for (const o of named) expect(tf.outputs[o], `output ${o}`).toBeDefined();
  });

  it('only tells the operator to set variables that exist', async () => {
    const named = [...readme.matchAll(/`([a-z][a-z0-9_]+)( = [^`]+)?`/g)].map((m) => m[1]).filter((n) => n.includes('_'));
    const configFields = ['grace_period_seconds', 'max_rsync_attempts', 'pubsub_retention_seconds', 'transfer_concurrency', 'rsync_engine', 's3_bucket', 'pubsub_topic_id', 'pubsub_subscription_id', 'error_pubsub_topic_id', 'url_signer_key_pair_id', 'num_single_message', 'max_replicas', 'min_replicas'];
    const known = new Set([
      ...Object.keys(tf.variables), ...Object.keys(tf.outputs), ...Object.keys(tf.resources), ...Object.keys(tf.data), ...configFields,
      'dead_letter_topic_id', 'aws_key_id', 'aws_key_secret', 'mysql_config', 'rate_per_s', // config, secret payload and log fields
      'update_policy', 'force_destroy', 'deletion_policy', 'max_unavailable_fixed', 'secret_data_wo', 'password_wo', // Terraform arguments
      'num_undelivered_messages', 'oldest_unacked_message_age', 'dropped_sent_packets_count', 'max_connections',
      'metrics_port', 'metrics_bind', 'ott_prometheus', 'prometheus_target', // config fields, the Ops Agent's receiver and its resource
      ...(await exportedNames()), // the metrics the runbook lists are those the code exports
    ]);
    const unknown = [...new Set(named)].filter((n) => !known.has(n));
    expect(unknown, 'names in backticks that are neither variables, outputs nor config fields').toEqual([]);
  });

  it('sizes ~1 PB / ~3 billion objects with ott estimate, its formula, labelled assumptions and its route totals', async () => {
    const sizing = readme.slice(readme.indexOf('. Sizing example: ~1 PB'));
    expect(sizing.length).toBeGreaterThan(3000);
    expect(sizing).toContain('bench/RESULTS.md');
    expect(sizing).toMatch(/\*\*assumed\*\*/);
    expect(sizing).toContain('time = max( B / (N_vm × T_vm) ,  N_obj / (N_vm × R_vm) )');
    expect(sizing).toMatch(/^ott estimate \$C /m);
    for (const line of ['Cost by route (USD):', 'Cloud NAT', 'state-table rows', 'cdnTransfer messages', 'AWS also waives egress']) expect(sizing, line).toContain(line);
    // The quoted route totals are what the estimator computes for the example's inputs (no hand arithmetic to drift).
    const { costRoutes } = await import('../../src/estimate/cost.js');
    const { loadPrices } = await import('../../src/estimate/prices.js');
    const { migrationDuration, GCS_RAMP, CLOUDFRONT_DEFAULT_BYTES_PER_SECOND } = await import('../../src/estimate/time.js');
    const w = { objects: 3e9, bytes: 1e15 };
    const d = migrationDuration(w, { vms: 20, vmObjectsPerSecond: 600, vmBytesPerSecond: 200e6, ramp: GCS_RAMP, cdnBytesPerSecond: CLOUDFRONT_DEFAULT_BYTES_PER_SECOND });
    const hours = d.seconds / 3600;
    const routes = costRoutes(
      { ...w, subfolders: 1e6, avgKeyBytes: 100, workloadFrom: 'measured', months: hours / (24 * 30.44), wallHours: hours, vms: 20, network: 'external-ip', cdnRegion: 'us', stsRegion: 'us', gcsStorageClass: 'STANDARD', keysPerMessage: 50 },
      loadPrices(),
    );
    for (const r of routes) {
      const quoted = new RegExp(`^  ${r.name.replace(/[()]/g, '\\$&')}: \\$([\\d,]+)`, 'm').exec(sizing);
      expect(quoted, r.name).not.toBeNull();
      expect(Number(quoted![1].replace(/,/g, '')), r.name).toBe(Math.round(r.usd));
    }
  });

  it('quotes the quota the defaults need, as the quota_needs formulas compute it', () => {
    const v = (name: string): unknown => tf.variables[name].default;
    const max = v('max_replicas') as Record<string, number>;
    const types = v('machine_types') as Record<string, string>;
    const vcpus = (t: string): number => Number(/-(\d+)$/.exec(t)![1]);
    const zones = 3; // local.zone_count with zones = []
    const modes = tf.locals.modes as Record<string, { external_ip: boolean }>;
    const cpus = Object.keys(max).reduce((n, m) => n + (max[m] + zones) * vcpus(types[m]), 0) + vcpus(v('publisher_machine_type') as string);
    const instances = Object.keys(max).reduce((n, m) => n + max[m] + zones, 0) + 1;
    const addresses = Object.keys(max).filter((m) => modes[m].external_ip).reduce((n, m) => n + max[m] + zones, 0) + 2;
    expect(readme).toContain(`need ${cpus} vCPUs, ${instances} instances and ${addresses} external\naddresses`);
  });

  it('prices the network for the external-IP layout the Terraform deploys by default', () => {
    expect(tf.variables.worker_external_ip.default).toBe(true);
    const sizing = readme.slice(readme.indexOf('. Sizing example: ~1 PB'));
    const line = (label: string): string => sizing.split('\n').find((l) => l.startsWith(`| ${label}`)) ?? '';
    expect(line('Network, external-IP layout (default)')).toMatch(/\*\*\$0\*\*/);
    expect(line('Cloud NAT (publisher and syncCheck listings only)')).toMatch(/\*\*~\$\d{2,3}\*\*/);
    expect(line('Cloud NAT if every worker went through it')).toContain('worker_external_ip = false');
    expect(line('External IPv4 addresses')).not.toBe('');
  });
});
