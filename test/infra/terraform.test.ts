// The Terraform in infra/terraform, checked without a cloud: every .tf file is parsed with Terraform's own
// HCL parser (@cdktf/hcl2json) and the deployment's promises are asserted on the parsed blocks.
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from '@cdktf/hcl2json';
import { allKeys, allStrings, child, INFRA_DIR, loadTerraform, resourcesOf, TF_DIR, withEditedCopy, type Block, type TfModule } from './hcl.js';
import { autoscalersOffBacklog, BROAD_ROLE, broadRoles, publicOrWrongSql, subscriptionsWithoutDeadLetter, undocumentedVariables } from './checks.js';

const MODES = ['cdnTransfer', 'syncCheck', 'rsync'];
/** shellcheck on stdin; nothing in this file serves requests, so a blocking run is fine. */
const run = async (cmd: string, args: string[], opts: { input: string }): Promise<{ stdout: string; stderr: string }> => {
  const r = spawnSync(cmd, args, { input: opts.input, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} could not run (install it: bash scripts/setup.sh): ${r.error.message}`);
  return { stdout: r.stdout, stderr: r.stderr };
};
/** The only roles granted on the project itself: none is owner, editor or an admin role. */
const ALLOWED_PROJECT_ROLES = ['roles/datastore.viewer', 'roles/logging.logWriter', 'roles/monitoring.metricWriter'];

let tf: TfModule;
beforeAll(async () => {
  tf = await loadTerraform();
});

const res = (type: string, name: string): Block => {
  const r = tf.resources[type]?.[name];
  if (!r) throw new Error(`resource ${type}.${name} is missing`);
  return r;
};
const modes = (): Record<string, Block> => tf.locals.modes as Record<string, Block>;
const defaultOf = (v: string): unknown => tf.variables[v]?.default;

describe('terraform: files and variables', () => {
  it('parses every .tf file with the HCL parser, which rejects broken HCL', async () => {
    expect(tf.files).toEqual(expect.arrayContaining(['variables.tf', 'outputs.tf', 'versions.tf', 'network.tf', 'sql.tf', 'pubsub.tf', 'secrets.tf', 'datastore.tf', 'iam.tf', 'compute.tf', 'monitoring.tf']));
    await expect(parse('broken.tf', 'resource "a" "b" {\n  x = \n')).rejects.toThrow();
  });

  it('documents every variable (description, type) and every output', () => {
    expect(Object.keys(tf.variables).length).toBeGreaterThan(20);
    for (const [name, v] of Object.entries(tf.variables)) {
      expect(typeof v.description === 'string' && v.description.length > 15, `variable ${name} needs a description`).toBe(true);
      expect(v.type, `variable ${name} needs a type`).toBeDefined();
    }
    for (const [name, o] of Object.entries(tf.outputs)) expect(typeof o.description === 'string' && o.description.length > 15, `output ${name} needs a description`).toBe(true);
  });

  it('requires only project_id and gcs_bucket; per-mode maps cover all three modes', () => {
    const required = Object.entries(tf.variables).filter(([, v]) => !('default' in v)).map(([n]) => n).sort();
    expect(required).toEqual(['gcs_bucket', 'project_id']);
    for (const v of ['machine_types', 'boot_disk_size_gb', 'min_replicas', 'max_replicas', 'backlog_per_vm']) {
      expect(Object.keys(defaultOf(v) as object).sort(), v).toEqual([...MODES].sort());
    }
    const min = defaultOf('min_replicas') as Record<string, number>;
    const max = defaultOf('max_replicas') as Record<string, number>;
    for (const m of MODES) expect(max[m]).toBeGreaterThanOrEqual(Math.max(1, min[m]));
  });

  it('terraform.tfvars.example sets only declared variables', async () => {
    const doc = (await parse('x.tfvars', await readFile(`${TF_DIR}terraform.tfvars.example`, 'utf8'))) as Record<string, unknown>;
    expect(Object.keys(doc).length).toBeGreaterThan(3);
    for (const k of Object.keys(doc)) expect(tf.variables[k], `tfvars sets undeclared ${k}`).toBeDefined();
  });

  it('pins the google providers and names the three worker modes', () => {
    const tfBlock = tf.raw.flatMap((d) => (d.terraform ?? []) as Block[])[0];
    const providers = child(tfBlock, 'required_providers') as Record<string, { source: string }>;
    expect(providers.google.source).toBe('hashicorp/google');
    expect(providers['google-beta'].source).toBe('hashicorp/google-beta');
    expect(Object.keys(modes()).sort()).toEqual([...MODES].sort());
  });
});

describe('terraform: references', () => {
  // What `terraform validate` would catch first (terraform itself cannot be installed here): every
  // var., local., data. and resource reference names something declared, and each.value.X of a
  // for_each over local.modes names a field every mode has.
  it('refers only to declared variables, locals, data sources and resources', () => {
    const exprs = allStrings(tf.raw).filter((x) => x.includes('${'));
    const missing = new Set<string>();
    for (const e of exprs) {
      for (const [, v] of e.matchAll(/\bvar\.([a-z0-9_]+)/g)) if (!tf.variables[v]) missing.add(`var.${v}`);
      for (const [, l] of e.matchAll(/\blocal\.([a-z0-9_]+)/g)) if (!(l in tf.locals)) missing.add(`local.${l}`);
      for (const [, t, n] of e.matchAll(/\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)/g)) if (!tf.data[t]?.[n]) missing.add(`data.${t}.${n}`);
      for (const [, t, n] of e.matchAll(/(?<![.\w])(google_[a-z0-9_]+)\.([a-z0-9_]+)/g)) if (!tf.resources[t]?.[n]) missing.add(`${t}.${n}`);
    }
    expect([...missing]).toEqual([]);
    const modeFields = new Set(Object.values(modes()).flatMap((m) => Object.keys(m)));
    for (const [type, byName] of Object.entries(tf.resources)) {
      for (const [name, r] of Object.entries(byName)) {
        if (r.for_each !== '${local.modes}') continue;
        for (const x of allStrings(r)) for (const [, f] of x.matchAll(/each\.value\.([a-z0-9_]+)/g)) expect(modeFields.has(f), `${type}.${name}: each.value.${f}`).toBe(true);
      }
    }
  });
});

describe('terraform: network', () => {
  it('has a VPC with Cloud NAT for the whole subnet and Private Google Access', () => {
    expect(res('google_compute_network', 'vpc').auto_create_subnetworks).toBe(false);
    expect(res('google_compute_subnetwork', 'workers').private_ip_google_access).toBe(true);
    const nat = res('google_compute_router_nat', 'nat');
    expect(nat.source_subnetwork_ip_ranges_to_nat).toBe('ALL_SUBNETWORKS_ALL_IP_RANGES');
    expect(nat.router).toContain('google_compute_router.nat');
    expect(nat.enable_dynamic_port_allocation).toBe(true);
  });

  it('opens no ingress but SSH from the IAP range, to the VMs tagged ott-ssh only, and denies the rest', () => {
    const rules = Object.fromEntries(resourcesOf(tf, 'google_compute_firewall'));
    expect(Object.keys(rules).sort()).toEqual(['deny_ingress', 'ssh_iap']);
    const ssh = rules.ssh_iap;
    expect(ssh.direction).toBe('INGRESS');
    expect(child(ssh, 'allow').ports).toEqual(['22']);
    expect(ssh.target_tags).toEqual(['ott-ssh']);
    expect(defaultOf('ssh_source_ranges')).toEqual(['35.235.240.0/20']);
    const deny = rules.deny_ingress;
    expect([deny.direction, deny.source_ranges, child(deny, 'deny').protocol]).toEqual(['INGRESS', ['0.0.0.0/0'], 'all']);
    expect(deny.priority as number).toBeGreaterThan(ssh.priority as number);
    // IAP SSH only where needed: the publisher always, workers only when asked for.
    expect(res('google_compute_instance', 'publisher').tags).toContain('ott-ssh');
    expect(res('google_compute_region_instance_template', 'worker').tags).toBe('${concat(["ott", "ott-${each.value.slug}"], var.ssh_to_workers ? ["ott-ssh"] : [])}');
    expect(defaultOf('ssh_to_workers')).toBe(false);
  });

  it('gives the CDN-carrying workers external IPs by default, so CDN bytes skip Cloud NAT; NAT stays for the rest', () => {
    expect(defaultOf('worker_external_ip')).toBe(true);
    const nic = child(res('google_compute_region_instance_template', 'worker'), 'network_interface');
    expect(child(nic.dynamic as Block, 'access_config').for_each).toBe('${var.worker_external_ip && each.value.external_ip ? [1] : []}');
    expect(Object.fromEntries(Object.entries(modes()).map(([m, v]) => [m, v.external_ip]))).toEqual({ cdnTransfer: true, syncCheck: false, rsync: true });
    // The publisher has none: its S3 listing goes through NAT.
    expect(child(res('google_compute_instance', 'publisher'), 'network_interface').access_config).toBeUndefined();
    expect(res('google_service_networking_connection', 'sql').deletion_policy).toBe('ABANDON');
  });
});

describe('terraform: Cloud SQL', () => {
  it('is MySQL 8 on a private IP only, no public IP, no authorized networks', () => {
    const sql = res('google_sql_database_instance', 'state');
    expect(sql.database_version).toMatch(/^MYSQL_8_/);
    const ip = child(child(sql, 'settings'), 'ip_configuration');
    expect(ip.ipv4_enabled).toBe(false);
    expect(ip.private_network).toContain('google_compute_network.vpc');
    expect(ip.authorized_networks).toBeUndefined();
    expect(sql.depends_on).toEqual(expect.arrayContaining([expect.stringContaining('google_service_networking_connection.sql')]));
    expect(child(child(sql, 'settings'), 'backup_configuration').enabled).toBe(true);
    expect(res('google_sql_database', 'ott').collation).toBe('utf8mb4_bin'); // S3 keys are case-sensitive
  });
});

describe('terraform: no secret value in code or state', () => {
  it('writes secrets only through write-only arguments, from ephemeral variables, never a stored attribute', () => {
    expect(Object.keys(tf.resources.google_secret_manager_secret).sort()).toEqual(['cloudfront_key', 'credentials']);
    for (const type of ['random_password', 'tls_private_key', 'google_service_account_key']) {
      expect(tf.resources[type], `${type} would put a secret in the state`).toBeUndefined();
    }
    const keys = new Set(allKeys(tf.raw));
    for (const k of ['password', 'root_password', 'secret_data', 'private_key', 'secret_string']) expect(keys.has(k), k).toBe(false);
    for (const [name, v] of Object.entries(tf.resources.google_secret_manager_secret_version)) {
      expect(v.secret_data_wo, name).toBeDefined();
      expect(v.secret_data_wo_version, name).toMatch(/^\$\{var\.[a-z_]+_version\}$/);
    }
    const user = res('google_sql_user', 'ott');
    expect([user.password_wo, user.password_wo_version]).toEqual(['${var.mysql_password}', '${var.credentials_version}']);
    for (const v of ['aws_key_id', 'aws_key_secret', 'mysql_password']) {
      expect(tf.variables[v].ephemeral, v).toBe(true);
      // Set whenever a version is written: never a MySQL user without a password.
      expect(String(child(tf.variables[v], 'validation').condition), v).toMatch(new RegExp(`^\\$\\{var\\.credentials_version == 0 \\|\\| try\\(length\\(var\\.${v}\\)`));
    }
    // Write-only arguments need Terraform 1.11.
    const tfBlock = tf.raw.flatMap((d) => (d.terraform ?? []) as Block[])[0];
    expect(tfBlock.required_version).toBe('>= 1.11.0');
  });
});

describe('terraform: Pub/Sub', () => {
  it('gives each mode a work topic, subscription, dead-letter topic and error topic', () => {
    for (const t of ['work', 'dead_letter', 'errors']) expect(res('google_pubsub_topic', t).for_each).toBe('${local.modes}');
    for (const s of ['work', 'errors_hold', 'dead_letter_hold']) expect(res('google_pubsub_subscription', s).for_each).toBe('${local.modes}');
  });

  it('puts a dead-letter policy on every subscription except the dead-letter queues themselves', () => {
    for (const [name, sub] of resourcesOf(tf, 'google_pubsub_subscription')) {
      if (/google_pubsub_topic\.dead_letter\[/.test(String(sub.topic))) {
        // The end of the line: a subscription that holds dead letters for inspection.
        expect((sub.labels as string) ?? '', name).toContain('dead-letter-queue');
        expect(sub.dead_letter_policy, name).toBeUndefined();
        continue;
      }
      const dlq = child(sub, 'dead_letter_policy');
      expect(dlq.dead_letter_topic, name).toBe('${google_pubsub_topic.dead_letter[each.key].id}');
      expect(dlq.max_delivery_attempts, name).toBe('${var.max_delivery_attempts}');
      const retry = child(sub, 'retry_policy');
      expect(retry.minimum_backoff).toBeDefined();
      expect(retry.maximum_backoff).toBeDefined();
      expect(child(sub, 'expiration_policy').ttl, `${name} must never expire`).toBe('');
    }
    expect(defaultOf('max_delivery_attempts')).toBeGreaterThanOrEqual(5);
  });

  it('sizes the work subscription ack deadline for large objects and lets Pub/Sub dead-letter', () => {
    const work = res('google_pubsub_subscription', 'work');
    expect(work.ack_deadline_seconds).toBe('${var.ack_deadline_seconds}');
    expect(defaultOf('ack_deadline_seconds')).toBe(600);
    expect(work.topic).toBe('${google_pubsub_topic.work[each.key].id}');
    // The Pub/Sub service agent publishes dead letters and acks them on the source subscription.
    expect(res('google_pubsub_topic_iam_member', 'dead_letter_publisher').member).toBe('${local.pubsub_service_agent}');
    expect(res('google_pubsub_subscription_iam_member', 'dead_letter_source_work').member).toBe('${local.pubsub_service_agent}');
    // The service agent is created (google_project_service_identity) before it is granted anything.
    expect(tf.locals.pubsub_service_agent).toBe('serviceAccount:${google_project_service_identity.pubsub.email}');
    const agent = res('google_project_service_identity', 'pubsub');
    expect([agent.service, agent.provider]).toEqual(['pubsub.googleapis.com', '${google-beta}']);
  });

  it('keeps messages as long as Pub/Sub allows: 7 days on subscriptions, 31 days on the topics for replay', () => {
    expect(defaultOf('message_retention_duration')).toBe('604800s');
    expect(defaultOf('topic_retention_duration')).toBe('2678400s');
    for (const t of ['work', 'dead_letter', 'errors']) expect(res('google_pubsub_topic', t).message_retention_duration).toBe('${var.topic_retention_duration}');
    expect(res('google_pubsub_subscription', 'work').message_retention_duration).toBe('${var.message_retention_duration}');
    // The alert fires well before the subscription drops a message.
    expect(defaultOf('alert_oldest_unacked_seconds') as number).toBeLessThanOrEqual(604800 / 3);
  });
});

describe('terraform: Datastore', () => {
  it('creates a Firestore database in Datastore mode', () => {
    const db = res('google_firestore_database', 'config');
    expect(db.type).toBe('DATASTORE_MODE');
    expect(db.name).toBe('(default)');
  });
});

describe('terraform: least-privilege IAM', () => {
  it('grants no owner, editor, admin or other broad role anywhere, and on the project only the allowed few', () => {
    const roles = allStrings(tf.raw).filter((s) => s.startsWith('roles/'));
    expect(roles.length).toBeGreaterThan(5);
    for (const r of roles) expect(r, `broad role ${r}`).not.toMatch(BROAD_ROLE);
    expect([...(tf.locals.project_roles as string[])].sort()).toEqual([...ALLOWED_PROJECT_ROLES].sort());
    // Every project-level grant comes from project_roles; none is authoritative.
    const projectGrants = Object.fromEntries(resourcesOf(tf, 'google_project_iam_member'));
    expect(Object.keys(projectGrants).sort()).toEqual(['publisher', 'worker']);
    expect(projectGrants.worker.for_each).toContain('setproduct(keys(local.modes), local.project_roles)');
    expect(projectGrants.worker.role).toBe('${each.value.role}');
    expect(projectGrants.publisher.for_each).toBe('${toset(local.project_roles)}');
    expect(projectGrants.publisher.role).toBe('${each.value}');
    for (const t of ['google_project_iam_binding', 'google_project_iam_policy', 'google_storage_bucket_iam_binding', 'google_storage_bucket_iam_policy']) expect(tf.resources[t], t).toBeUndefined();
  });

  it('has a service account per worker mode and one for the publisher', () => {
    expect(res('google_service_account', 'worker').for_each).toBe('${local.modes}');
    expect(res('google_service_account', 'publisher').account_id).toBe('${var.name_prefix}-publisher');
  });

  it('lets a worker write only the destination bucket (syncCheck only reads it)', () => {
    const b = res('google_storage_bucket_iam_member', 'worker');
    expect(b.bucket).toBe('${local.bucket_name}');
    expect(b.role).toBe('${each.value.bucket_role}');
    expect(b.member).toBe('serviceAccount:${google_service_account.worker[each.key].email}');
    expect(modes().cdnTransfer.bucket_role).toBe('roles/storage.objectUser');
    expect(modes().rsync.bucket_role).toBe('roles/storage.objectUser');
    expect(modes().syncCheck.bucket_role).toBe('roles/storage.objectViewer');
    expect(Object.keys(tf.resources.google_storage_bucket_iam_member)).toEqual(['publisher_delta', 'worker']);
    // The publisher: the delta pass lists the destination and (--delete-unmatched) deletes, on this bucket only.
    const p = res('google_storage_bucket_iam_member', 'publisher_delta');
    expect([p.bucket, p.role, p.member]).toEqual(['${local.bucket_name}', 'roles/storage.objectUser', 'serviceAccount:${google_service_account.publisher.email}']);
  });

  it('lets a worker pull only its subscription and publish only its error and dead-letter topics', () => {
    const pull = res('google_pubsub_subscription_iam_member', 'worker_pull');
    expect([pull.subscription, pull.role, pull.member]).toEqual(['${google_pubsub_subscription.work[each.key].name}', 'roles/pubsub.subscriber', 'serviceAccount:${google_service_account.worker[each.key].email}']);
    const errs = res('google_pubsub_topic_iam_member', 'worker_errors');
    expect([errs.topic, errs.role, errs.member]).toEqual(['${google_pubsub_topic.errors[each.key].name}', 'roles/pubsub.publisher', 'serviceAccount:${google_service_account.worker[each.key].email}']);
    // No other Pub/Sub grant names a worker.
    const pubsubGrants = [...resourcesOf(tf, 'google_pubsub_topic_iam_member'), ...resourcesOf(tf, 'google_pubsub_subscription_iam_member')];
    const workerGrants = pubsubGrants.filter(([, g]) => String(g.member).includes('google_service_account.worker')).map(([n]) => n).sort();
    expect(workerGrants).toEqual(['worker_dead_letter', 'worker_errors', 'worker_pull']);
    const dl = res('google_pubsub_topic_iam_member', 'worker_dead_letter');
    expect([dl.topic, dl.role, dl.member]).toEqual(['${google_pubsub_topic.dead_letter[each.key].name}', 'roles/pubsub.publisher', 'serviceAccount:${google_service_account.worker[each.key].email}']);
  });

  it('lets a worker read only its secrets: credentials, and the signing key only where it signs URLs', () => {
    expect(res('google_secret_manager_secret_iam_member', 'worker_credentials').secret_id).toBe('${google_secret_manager_secret.credentials.id}');
    const key = res('google_secret_manager_secret_iam_member', 'worker_cloudfront_key');
    expect(key.secret_id).toBe('${google_secret_manager_secret.cloudfront_key.id}');
    expect(key.for_each).toContain('if m.needs_signing_key');
    expect(modes().syncCheck.needs_signing_key).toBe(false);
    for (const [name, g] of resourcesOf(tf, 'google_secret_manager_secret_iam_member')) expect(g.role, name).toBe('roles/secretmanager.secretAccessor');
  });

  it('lets the publisher publish and read only the work topics, purge only the resettable subscriptions, read only the credentials secret', () => {
    const p = res('google_pubsub_topic_iam_member', 'publisher');
    expect([p.topic, p.role, p.member]).toEqual(['${google_pubsub_topic.work[each.key].name}', 'roles/pubsub.publisher', 'serviceAccount:${google_service_account.publisher.email}']);
    const meta = res('google_pubsub_topic_iam_member', 'publisher_topic_metadata');
    expect([meta.topic, meta.role]).toEqual(['${google_pubsub_topic.work[each.key].name}', 'roles/pubsub.viewer']);
    const purge = res('google_pubsub_subscription_iam_member', 'publisher_purge');
    expect([purge.for_each, purge.subscription, purge.role]).toEqual(['${local.resettable}', '${google_pubsub_subscription.work[each.key].name}', 'roles/pubsub.subscriber']);
    expect(Object.entries(modes()).filter(([, m]) => m.resettable).map(([k]) => k).sort()).toEqual(['rsync', 'syncCheck']);
    const all = allStrings(Object.values(tf.resources).flatMap((byName) => Object.values(byName)).filter((r) => String(r.member).includes('google_service_account.publisher')));
    expect(all.filter((s) => s.startsWith('roles/')).sort()).toEqual(['roles/pubsub.publisher', 'roles/pubsub.subscriber', 'roles/pubsub.viewer', 'roles/secretmanager.secretAccessor', 'roles/storage.objectUser']);
    expect(res('google_secret_manager_secret_iam_member', 'publisher_credentials').secret_id).toBe('${google_secret_manager_secret.credentials.id}');
  });
});

describe('terraform: worker VMs', () => {
  it('builds an instance template per mode from an image pinned by self link through a data source', () => {
    const t = res('google_compute_region_instance_template', 'worker');
    expect(t.for_each).toBe('${local.modes}');
    expect(child(t, 'disk').source_image).toBe('${data.google_compute_image.ott[each.key].self_link}');
    expect(allStrings(tf.raw).filter((x) => x.includes('/images/family/'))).toEqual([]);
    const img = tf.data.google_compute_image.ott;
    expect([img.for_each, img.name, img.family]).toEqual(['${local.image_name}', '${each.value != "" ? each.value : null}', '${each.value != "" ? null : var.worker_image_family}']);
    expect(String(tf.locals.image_name)).toContain('lookup(var.worker_image_by_mode, k, var.worker_image)');
    expect(child(child(res('google_compute_instance', 'publisher'), 'boot_disk'), 'initialize_params').image).toBe('${data.google_compute_image.ott["publisher"].self_link}');
    expect(child(t, 'service_account').email).toBe('${google_service_account.worker[each.key].email}');
    const md = t.metadata as Record<string, string>;
    expect(md['ott-config-key-${each.key}']).toBe('${local.name[each.key].config_key}');
    expect(md['ott-gcp-project']).toBe('${var.project_id}');
    expect(String(tf.locals.startup_script)).toContain('systemctl enable --now ott@${mode}.service');
  });

  it('gives a stopping VM longer than the systemd stop timeout, which covers the worker grace period', async () => {
    const unit = await readFile(`${INFRA_DIR}systemd/ott@.service`, 'utf8');
    const timeoutStopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    const grace = defaultOf('grace_period_seconds') as number;
    expect(grace).toBe(600); // the config default (src/common/config/schema.ts)
    const gs = child(child(res('google_compute_region_instance_template', 'worker'), 'scheduling'), 'graceful_shutdown');
    expect(gs.enabled).toBe(true);
    expect(child(gs, 'max_duration').seconds).toBe('${local.graceful_shutdown_seconds}');
    const m = /^\$\{var\.grace_period_seconds \+ (\d+)\}$/.exec(String(tf.locals.graceful_shutdown_seconds));
    expect(m, 'graceful_shutdown_seconds = grace_period_seconds + margin').not.toBeNull();
    expect(grace + Number(m![1])).toBeGreaterThan(timeoutStopSec);
    expect(timeoutStopSec).toBeGreaterThan(grace);
    // The startup script keeps the unit's stop timeout at grace + 60 for any grace period: one source.
    expect(tf.locals.stop_timeout_seconds).toBe('${var.grace_period_seconds + 60}');
    expect(String(tf.locals.startup_script)).toContain('${local.stop_timeout_seconds} "$heap_mib"');
    expect(grace + 60).toBe(timeoutStopSec);
    expect(String(tf.outputs.ott_configs.value)).toContain('grace_period_seconds = var.grace_period_seconds');
    expect(tf.outputs.grace_period_seconds.value).toBe('${var.grace_period_seconds}');
  });

  it('renders a startup script per mode that passes shellcheck', async () => {
    const template = /<<-EOT\n([\s\S]*?)\n\s*EOT/.exec(String(tf.locals.startup_script))?.[1];
    expect(template).toBeDefined();
    const indent = /^\s*/.exec(template!)![0].length;
    for (const mode of MODES) {
      const script = template!
        .split('\n')
        .map((l) => l.slice(indent))
        .join('\n')
        .replaceAll('${mode}', mode)
        .replaceAll('${var.worker_processes[mode]}', String((defaultOf('worker_processes') as Record<string, number>)[mode]))
        .replaceAll('${local.stop_timeout_seconds}', String((defaultOf('grace_period_seconds') as number) + 60))
        .replaceAll('${local.metrics_targets[mode]}', '["localhost:9464"]');
      expect(script).not.toContain('${');
      expect(script.startsWith('#!/bin/bash\n')).toBe(true);
      const r = await run('shellcheck', ['-'], { input: script });
      expect(r.stdout + r.stderr, `startup script for ${mode}`).toBe('');
      expect(script).toContain(`systemctl enable --now ott@${mode}.service`);
      expect(script).toContain(`TimeoutStopSec=%s\\nEnvironment="NODE_OPTIONS=--max-old-space-size=%s --max-semi-space-size=16"\\n' 660 "$heap_mib"`);
      expect(script).toContain('set -euo pipefail');
    }
  });

  it('runs a regional MIG per mode, autoscaled on its own subscription backlog between variable bounds', () => {
    const mig = res('google_compute_region_instance_group_manager', 'worker');
    expect(mig.for_each).toBe('${local.modes}');
    expect(child(mig, 'version').instance_template).toBe('${google_compute_region_instance_template.worker[each.key].id}');
    expect(mig.target_size).toBeUndefined();
    // Rollouts go through the update policy: surge first, never fewer VMs, replaced VMs drain gracefully.
    const up = child(mig, 'update_policy');
    expect([up.type, up.minimal_action, up.max_unavailable_fixed, up.instance_redistribution_type]).toEqual(['PROACTIVE', 'REPLACE', 0, 'NONE']);
    const as = res('google_compute_region_autoscaler', 'worker');
    expect(as.target).toBe('${google_compute_region_instance_group_manager.worker[each.key].id}');
    const policy = child(as, 'autoscaling_policy');
    // max_replicas is reached in stages: replica_cap caps it, min_replicas never exceeds the cap.
    expect(policy.min_replicas).toBe('${local.stage_min_replicas[each.key]}');
    expect(policy.max_replicas).toBe('${local.stage_max_replicas[each.key]}');
    expect(tf.locals.stage_max_replicas).toContain('min(var.max_replicas[mode], lookup(var.replica_cap, mode, var.max_replicas[mode]))');
    expect(defaultOf('replica_cap')).toEqual({});
    const metric = child(policy, 'metric');
    expect(metric.name).toBe('pubsub.googleapis.com/subscription/num_undelivered_messages');
    expect(metric.filter).toContain('resource.type = pubsub_subscription');
    expect(metric.filter).toContain('resource.labels.subscription_id = \\"${google_pubsub_subscription.work[each.key].name}\\"'.replaceAll('\\"', '"'));
    expect(metric.single_instance_assignment).toBe('${var.backlog_per_vm[each.key]}');
    expect(child(policy, 'scale_in_control')).toBeDefined();
  });
});

describe('terraform: outputs', () => {
  it('outputs what the operator needs next', () => {
    for (const o of ['ott_configs', 'config_keys', 'secrets', 'sql', 'pubsub', 'service_accounts', 'worker_migs', 'publisher_ssh']) expect(tf.outputs[o], o).toBeDefined();
    // The per-mode config carries the reference's field names, so `ott config put` accepts it.
    const cfg = String(tf.locals.config_strings);
    for (const f of ['mysql_table', 'credentials_secret_id', 'gcs_bucket', 'pubsub_topic_id', 'pubsub_subscription_id', 'error_pubsub_topic_id', 'url_signer_private_key_secret_id']) expect(cfg).toContain(`${f} `);
    expect(String(tf.outputs.ott_configs.value)).toContain('grace_period_seconds = var.grace_period_seconds');
  });
});

describe('terraform: the checks catch a broken copy', () => {
  // Each row breaks one promise in a copy of infra/terraform; its check must then report it.
  const cases: { name: string; file: string; from: string; to: string; check: (tf: TfModule) => string[] }[] = [
    { name: 'a public IP on Cloud SQL', file: 'sql.tf', from: 'ipv4_enabled                                  = false', to: 'ipv4_enabled = true', check: publicOrWrongSql },
    { name: 'MySQL 5.7', file: 'sql.tf', from: '"MYSQL_8_0"', to: '"MYSQL_5_7"', check: publicOrWrongSql },
    { name: 'roles/owner on the project', file: 'iam.tf', from: '"roles/logging.logWriter"', to: '"roles/owner"', check: broadRoles },
    { name: 'roles/storage.admin on the bucket', file: 'main.tf', from: '"roles/storage.objectViewer"', to: '"roles/storage.admin"', check: broadRoles },
    { name: 'a subscription without a dead-letter policy', file: 'pubsub.tf', from: 'dead_letter_policy {\n    dead_letter_topic     = google_pubsub_topic.dead_letter[each.key].id\n    max_delivery_attempts = var.max_delivery_attempts\n  }', to: '', check: subscriptionsWithoutDeadLetter },
    { name: 'an autoscaler on CPU instead of the backlog', file: 'compute.tf', from: '"pubsub.googleapis.com/subscription/num_undelivered_messages"', to: '"compute.googleapis.com/instance/cpu/utilization"', check: autoscalersOffBacklog },
    { name: 'a variable without a description', file: 'variables.tf', from: 'description = "Region for the VPC subnet', to: 'x = "', check: undocumentedVariables },
  ];

  it('finds nothing wrong in the real files', () => {
    expect(publicOrWrongSql(tf)).toEqual([]);
    expect(broadRoles(tf)).toEqual([]);
    expect(subscriptionsWithoutDeadLetter(tf)).toEqual([]);
    expect(autoscalersOffBacklog(tf)).toEqual([]);
    expect(undocumentedVariables(tf)).toEqual([]);
    expect(BROAD_ROLE.test('roles/pubsub.subscriber')).toBe(false);
  });

  it.each(cases)('reports $name', async ({ file, from, to, check }) => {
    expect((await withEditedCopy(file, from, to, check)).length).toBeGreaterThan(0);
  });

});

describe('terraform: alerts and budget in code', () => {
  const policy = (name: string): Block => res('google_monitoring_alert_policy', name);
  const condition = (name: string): Block => child(policy(name), 'conditions');

  it('alerts on old unacked work (well before retention), dead letters, a saturated fleet, failed units, NAT and Cloud SQL connections', () => {
    expect(Object.keys(tf.resources.google_monitoring_alert_policy).sort()).toEqual(['at_max_and_growing', 'dead_letters', 'failed_units', 'nat_allocation', 'oldest_unacked', 'sql_connections']);
    for (const name of Object.keys(tf.resources.google_monitoring_alert_policy)) expect(policy(name).notification_channels, name).toBe('${local.alert_channels}');

    const old = child(condition('oldest_unacked'), 'condition_threshold');
    expect(old.filter).toContain('pubsub.googleapis.com/subscription/oldest_unacked_message_age');
    expect(old.filter).toContain('${google_pubsub_subscription.work[each.key].name}');
    expect(old.threshold_value).toBe('${var.alert_oldest_unacked_seconds}');

    const dl = child(condition('dead_letters'), 'condition_threshold');
    expect(dl.filter).toContain('${google_pubsub_subscription.dead_letter_hold[each.key].name}');
    expect([dl.comparison, dl.threshold_value]).toEqual(['COMPARISON_GT', 0]);

    const sat = String(child(condition('at_max_and_growing'), 'condition_prometheus_query_language').query);
    expect(sat).toContain('deriv(pubsub_googleapis_com:subscription_num_undelivered_messages');
    expect(sat).toContain('compute_googleapis_com:instance_group_size');
    expect(sat).toContain('>= ${local.stage_max_replicas[each.key]}');

    const failed = String(child(condition('failed_units'), 'condition_matched_log').filter);
    expect(failed).toContain('^ott@');
    expect(failed).toContain('status=78');

    expect(child(condition('nat_allocation'), 'condition_threshold').filter).toContain('router.googleapis.com/nat/nat_allocation_failed');
    const sql = child(condition('sql_connections'), 'condition_threshold');
    expect(sql.filter).toContain('cloudsql.googleapis.com/database/network/connections');
    expect(sql.threshold_value).toBe('${floor(local.sql_max_connections * var.alert_sql_connections_percent / 100)}');
  });

  it('has a billing budget on the project with actual and forecast thresholds', () => {
    const b = res('google_billing_budget', 'project');
    expect(b.count).toBe('${var.billing_account != "" ? 1 : 0}');
    expect(child(b, 'budget_filter').projects).toEqual(['projects/${data.google_project.this.number}']);
    const rules = b.threshold_rules as Block[];
    expect(rules.map((r) => r.threshold_percent)).toEqual([0.5, 0.9, 1, 1]);
    expect(rules.some((r) => r.spend_basis === 'FORECASTED_SPEND')).toBe(true);
    expect(child(b, 'all_updates_rule').monitoring_notification_channels).toBe('${local.alert_channels}');
    expect(tf.locals.apis).toEqual(expect.arrayContaining(['billingbudgets.googleapis.com', 'cloudresourcemanager.googleapis.com']));
  });
});

describe('terraform: sized from the fleet', () => {
  it('computes Cloud SQL max_connections from max_replicas x processes x the pool each process holds', async () => {
    const flags = child(child(res('google_sql_database_instance', 'state'), 'settings'), 'database_flags');
    expect([flags.name, flags.value]).toEqual(['max_connections', '${tostring(local.sql_max_connections)}']);
    const formula = String(tf.locals.sql_max_connections);
    expect(formula).toContain('var.max_replicas[mode] * var.worker_processes[mode]');
    expect(formula).toContain('var.publisher_processes * local.mysql_pool_per_process');
    // The pool size is the code's (src/common/db.ts): one mysql2 pool per process.
    const db = await readFile(new URL('../../src/common/db.ts', import.meta.url), 'utf8');
    expect(Number(/connectionLimit: (\d+)/.exec(db)?.[1])).toBe(tf.locals.mysql_pool_per_process);
    // With the defaults: every pool of every process at max_replicas, plus the publisher and headroom.
    const max = defaultOf('max_replicas') as Record<string, number>;
    const procs = defaultOf('worker_processes') as Record<string, number>;
    const pool = tf.locals.mysql_pool_per_process as number;
    const peak = MODES.reduce((n, m) => n + max[m] * procs[m] * pool, 0) + (defaultOf('publisher_processes') as number) * pool;
    expect(peak).toBe(40 * 8 * 8 + 10 * 8 + 10 * 8 + 6 * 8);
    expect(peak + (defaultOf('sql_connection_headroom') as number)).toBeLessThan(4000); // MySQL on 16 GB is comfortable below this
    // cdnTransfer's --processes comes from the same variable that sizes the database.
    expect(String(tf.locals.worker_flags)).toContain('--processes ${var.worker_processes[mode]}');
    expect(tf.variables.sql_max_connections).toBeUndefined();
  });

  it('lists the regional quota the deployment needs at max_replicas, for the preflight script', () => {
    const needs = tf.locals.quota_needs as Record<string, string>;
    expect(Object.keys(needs).sort()).toEqual(['CPUS', 'INSTANCES', 'IN_USE_ADDRESSES', 'SSD_TOTAL_GB']);
    expect(needs.CPUS).toContain('(var.max_replicas[m] + local.zone_count) * local.vcpus[m]');
    expect(needs.IN_USE_ADDRESSES).toContain('if x.external_ip');
    // Known at plan time: not from the zones data source, which waits for the APIs on a first apply.
    expect(JSON.stringify(needs)).not.toContain('local.zones');
    expect(tf.outputs.quota_needs.value).toBe('${local.quota_needs}');
  });
});
