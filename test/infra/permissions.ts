// The IAM check: what the code needs (infra/permissions.json, checked against a scan of src/) against what
// infra/terraform grants (its *_iam_member resources, expanded per mode). Terraform cannot run here, so the
// grants are evaluated from the parsed HCL for the few for_each and reference forms iam.tf uses; any
// other form throws ("not modelled"), so a new kind of grant cannot slip past unchecked.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Block, TfModule } from './hcl.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface Use {
  on: string;
  commands: string[];
}
export interface Call {
  site: string;
  count?: number;
  api: string;
  permissions: string[];
  uses: Use[];
}
export interface PermissionTable {
  roles: Record<string, string[]>;
  commands: Record<string, { identity: string; configs: string[] }>;
  calls: Call[];
  host_calls: { site: string; permissions: string[]; identities: string[] }[];
  not_api_calls: Record<string, string>;
}

export function loadTable(): PermissionTable {
  return JSON.parse(readFileSync(join(REPO, 'infra/permissions.json'), 'utf8')) as PermissionTable;
}

// --- The scan of src/ ---------------------------------------------------------------------------------
/** A file that talks to a Google API: uses a client from ctx.clients, imports an SDK, or calls the JSON API or gcloud. */
const USES_GOOGLE = /clients\.(pubsub|gcs|datastore)\(\)|from '@google-cloud\/|require\('@google-cloud\/|SecretManagerServiceClient|\/storage\/v1\/|spawn\('gcloud'/;
/** Method names of the Pub/Sub, Storage, Datastore and Secret Manager clients that send a request. */
const SDK_METHODS = [
  'getMetadata', 'setMetadata', 'publishMessage', 'publish', 'publishJSON', 'flush', 'seek', 'exists', 'get', 'create', 'delete', 'createSnapshot',
  'createSubscription', 'createTopic', 'getSubscriptions', 'getTopics', 'getSnapshots', 'modifyPushConfig', 'detach', 'pull', 'acknowledge',
  'modifyAckDeadline', 'ack', 'nack', 'modAck', 'getFiles', 'getFilesStream', 'deleteFiles', 'download', 'createReadStream', 'createWriteStream',
  'save', 'upsert', 'insert', 'update', 'runQuery', 'runAggregationQuery', 'allocateIds', 'transaction', 'accessSecretVersion', 'getSecret',
  'addSecretVersion', 'listSecretVersions', 'getAccessToken', 'copy', 'move', 'upload', 'combine', 'getSignedUrl', 'makePublic', 'iam',
];
const CALL = new RegExp(`([A-Za-z_$][\\w$]*|\\))\\s*\\.\\s*(${SDK_METHODS.join('|')})\\s*\\(`, 'g');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Every call site in src/ that may reach a Google API, as `file: receiver.method` with its count. */
export function scanCalls(srcDir = join(REPO, 'src')): Map<string, number> {
  const found = new Map<string, number>();
  const add = (k: string): void => void found.set(k, (found.get(k) ?? 0) + 1);
  for (const path of sourceFiles(srcDir).sort()) {
    const text = readFileSync(path, 'utf8');
    if (!USES_GOOGLE.test(text)) continue;
    const file = path.slice(srcDir.length - 'src'.length);
    for (const m of text.matchAll(CALL)) add(`${file}: ${m[1] === ')' ? '()' : m[1]}.${m[2]}`);
    for (const m of text.matchAll(/method: '(GET|POST|PUT|DELETE|PATCH)'/g)) add(`${file}: http ${m[1]}`);
    for (const _ of text.matchAll(/\.on\('message'/g)) add(`${file}: on(message)`);
    for (const _ of text.matchAll(/spawn\('gcloud'/g)) add(`${file}: spawn gcloud`);
  }
  return found;
}

/** Call sites the table does not account for (or accounts for with another count). */
export function unlistedCalls(table: PermissionTable, found: Map<string, number>): string[] {
  const listed = new Map<string, number>(table.calls.map((c) => [c.site, c.count ?? 1]));
  const out: string[] = [];
  for (const [site, n] of found) {
    if (site in table.not_api_calls) continue;
    if (!listed.has(site)) out.push(`${site}: not in infra/permissions.json`);
    else if (listed.get(site) !== n) out.push(`${site}: ${n} call(s) in src/, ${listed.get(site)} in infra/permissions.json`);
  }
  for (const site of listed.keys()) if (!found.has(site)) out.push(`${site}: listed in infra/permissions.json but not found in src/`);
  return out;
}

// --- The grants in infra/terraform ---------------------------------------------------------------------
export interface Grant {
  identity: string;
  role: string;
  /** A resource as `type.name[mode]`, `bucket` or `project`. */
  resource: string;
  from: string;
}

const IAM_TYPES: Record<string, string> = {
  google_pubsub_topic_iam_member: 'topic',
  google_pubsub_subscription_iam_member: 'subscription',
  google_storage_bucket_iam_member: 'bucket',
  google_secret_manager_secret_iam_member: 'secret_id',
  google_project_iam_member: 'project',
};

type Instance = { key: string; value: unknown };

function expandForEach(tf: TfModule, where: string, forEach: unknown): Instance[] {
  const modes = tf.locals.modes as Record<string, Block>;
  const list = (name: string): string[] => {
    const v = tf.locals[name];
    if (!Array.isArray(v)) throw new Error(`${where}: local.${name} is not a literal list`);
    return v as string[];
  };
  if (forEach === undefined) return [{ key: '', value: undefined }];
  const fe = String(forEach);
  if (fe === '${local.modes}') return Object.entries(modes).map(([key, value]) => ({ key, value }));
  let m = /^\$\{\{ for mode, m in local\.modes : mode => m if m\.([a-z_]+) \}\}$/.exec(fe);
  if (m) return Object.entries(modes).filter(([, v]) => v[m![1]] === true).map(([key, value]) => ({ key, value }));
  m = /^\$\{local\.([a-z_]+)\}$/.exec(fe);
  if (m && /^\$\{\{ for mode, m in local\.modes : mode => m if m\.([a-z_]+) \}\}$/.test(String(tf.locals[m[1]]))) return expandForEach(tf, where, tf.locals[m[1]]);
  m = /^\$\{toset\(local\.([a-z_]+)\)\}$/.exec(fe);
  if (m) return list(m[1]).map((r) => ({ key: r, value: r }));
  m = /^\$\{\{ for pair in setproduct\(keys\(local\.modes\), local\.([a-z_]+)\) : "\$\{pair\[0\]\} \$\{pair\[1\]\}" => \{ mode = pair\[0\], role = pair\[1\] \} \}\}$/.exec(fe);
  if (m) return Object.keys(modes).flatMap((mode) => list(m![1]).map((role) => ({ key: `${mode} ${role}`, value: { mode, role } })));
  throw new Error(`${where}: for_each ${fe} is not modelled in test/infra/permissions.ts`);
}

/** Substitutes each.key / each.value(.x) / the mode's fields into an attribute, then names what it refers to. */
function resolve(where: string, raw: unknown, inst: Instance): string {
  let s = String(raw);
  // A whole attribute that is each.value(.x) is that value itself, not a reference.
  const whole = /^\$\{each\.value(?:\.([a-z_]+))?\}$/.exec(s);
  if (whole) s = whole[1] ? `each.value.${whole[1]}` : 'each.value';
  s = s.replace(/each\.value\.([a-z_]+)/g, (_, f: string) => {
    const v = (inst.value as Record<string, unknown> | undefined)?.[f];
    if (v === undefined) throw new Error(`${where}: each.value.${f} is unknown`);
    return String(v);
  });
  return s.replace(/\beach\.value\b/g, String(inst.value)).replace(/\beach\.key\b/g, inst.key);
}

function resourceOf(where: string, s: string): string {
  const m = /^\$\{(google_[a-z_]+)\.([a-z_]+)(?:\[([A-Za-z]+)\])?\.(name|id|secret_id)\}$/.exec(s);
  if (m) return `${m[1]}.${m[2]}${m[3] ? `[${m[3]}]` : ''}`;
  if (s === '${local.bucket_name}') return 'bucket';
  if (s === '${var.project_id}') return 'project';
  throw new Error(`${where}: resource ${s} is not modelled in test/infra/permissions.ts`);
}

function identityOf(s: string): string {
  const m = /^serviceAccount:\$\{google_service_account\.(worker\[([A-Za-z]+)\]|publisher)\.email\}$/.exec(s);
  if (m) return m[2] ?? 'publisher';
  return s; // someone else, e.g. the Pub/Sub service agent
}

export function grantsOf(tf: TfModule): Grant[] {
  const out: Grant[] = [];
  for (const [type, attr] of Object.entries(IAM_TYPES)) {
    for (const [name, r] of Object.entries(tf.resources[type] ?? {})) {
      const where = `${type}.${name}`;
      for (const inst of expandForEach(tf, where, r.for_each)) {
        const role = resolve(where, r.role, inst);
        if (!/^roles\/[a-zA-Z.]+$/.test(role)) throw new Error(`${where}: role ${role} is not modelled`);
        out.push({ identity: identityOf(resolve(where, r.member, inst)), role, resource: attr === 'project' ? 'project' : resourceOf(where, resolve(where, r[attr], inst)), from: `${where}[${inst.key}]` });
      }
    }
  }
  return out;
}

/** config field -> the Terraform resource it names, from the ott_configs output (outputs.tf). */
export function configResources(tf: TfModule, mode: string): Record<string, string> {
  const text = String(tf.locals.config_strings);
  const out: Record<string, string> = { project: 'project' };
  for (const m of text.matchAll(/\b([a-z_]+)\s+=\s+(?:[^\n]*\?\s*)?(google_[a-z_]+)\.([a-z_]+)(\[mode\])?\.(?:name|id|secret_id)/g)) out[m[1]] = `${m[2]}.${m[3]}${m[4] ? `[${mode}]` : ''}`;
  if (/\bgcs_bucket\s+=\s+var\.gcs_bucket\b/.test(text)) out.gcs_bucket = 'bucket';
  return out;
}

export interface Need {
  identity: string;
  permission: string;
  resource: string;
  why: string;
}

export function needsOf(tf: TfModule, table: PermissionTable): Need[] {
  const out: Need[] = [];
  for (const call of table.calls) {
    for (const use of call.uses) {
      for (const cmd of use.commands) {
        const c = table.commands[cmd];
        if (!c) throw new Error(`${call.site}: unknown command ${cmd}`);
        if (c.identity === 'operator') continue; // runs with the operator's own credentials
        for (const config of c.configs) {
          const resource = configResources(tf, config)[use.on];
          if (!resource) throw new Error(`${call.site}: config field ${use.on} names no Terraform resource in the ott_configs output`);
          for (const permission of call.permissions) out.push({ identity: c.identity, permission, resource, why: `${call.site} (ott ${cmd}, config ${config})` });
        }
      }
    }
  }
  for (const h of table.host_calls) for (const identity of h.identities) for (const permission of h.permissions) out.push({ identity, permission, resource: 'project', why: h.site });
  return out;
}

/** Needs no grant covers: a role with the permission on that resource, or on the project. */
export function missingPermissions(tf: TfModule, table: PermissionTable): string[] {
  const grants = grantsOf(tf);
  const has = (n: Need): boolean =>
    grants.some((g) => g.identity === n.identity && (g.resource === n.resource || g.resource === 'project') && (table.roles[g.role] ?? []).includes(n.permission));
  const missing = new Set<string>();
  for (const n of needsOf(tf, table)) if (!has(n)) missing.add(`${n.identity} lacks ${n.permission} on ${n.resource}: ${n.why}`);
  return [...missing];
}

/** Roles granted that the table does not describe (so their permissions could not be checked). */
export function unknownRoles(tf: TfModule, table: PermissionTable): string[] {
  return [...new Set(grantsOf(tf).map((g) => g.role))].filter((r) => !table.roles[r]);
}
