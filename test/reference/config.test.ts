// Coming from the reference design with its own Datastore entity and flags: `ott config migrate` rewrites the
// reference's entity (SQL fields, Datastore datetimes, numbers stored as strings, None) and prints every
// change; loading a config keeps refusing SQL but takes a Datastore datetime; the migrated entity then runs
// `ott migrate` and `ott dump` through the real CLI with the reference's flag spellings (--gcp_project,
// --config_key, --dump_file), against the stack's Datastore emulator, Secret Manager fake and MariaDB; and
// a dump file listed without the trailing slash is explained, not loaded as ROOT/ROOT/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { createDb, type Db } from '../../src/common/db.js';
import { datastoreClient, loadConfig } from '../../src/common/config/load.js';
import { ConfigError } from '../../src/common/config/validate.js';
import { freshDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/names.js';
import { makeSecretClient } from '../stack/secretManager/client.js';

const exec = promisify(execFile);
const PROJECT = 'ott-local';
const dir = mkdtempSync(join(tmpdir(), 'ott-refcfg-'));
let db: Db;
let secretId: string;

/** The reference's cdnTransfer/syncCheck entity as its manual.txt describes it, as the Python client saved it. */
function referenceEntity(table: string): Record<string, unknown> {
  return {
    gcp_project: PROJECT,
    logger_name: 'object-transfer-tool',
    gcs_bucket: 'dest-bucket',
    gcs_root_prefix: 'data/',
    mysql_table: table,
    aws_region: 'us-east-1',
    s3_bucket: 'source-bucket',
    s3_root_prefix: 'data/',
    cloudfront_url_host_pre: 'https://d111111abcdef8.cloudfront.net/',
    replace_key_parts: null,
    url_signer_private_key_secret_id: null,
    url_signer_key_pair_id: null,
    signed_url_expire_seconds: '604800',
    last_modified_before: null,
    last_modified_after: new Date('2024-01-31T00:00:00Z'),
    pubsub_subscription_id: 'ott-dirs-sub',
    num_messages: '1',
    max_messages_per_batch: 10,
    insert_query: `INSERT INTO ${table} (dir_key) VALUES (%s)`,
    pull_query: `SELECT dir_key FROM ${table} WHERE initial_transfer IS TRUE AND cdn_transfer_published IS FALSE LIMIT 10`,
    update_query: `UPDATE ${table} SET initial_transfer = FALSE, cdn_transfer_published = TRUE WHERE dir_key = %s`,
    start_query: `UPDATE ${table} SET sync_check_in_progress = TRUE, sync_check_last_start = (%s) WHERE dir_key = (%s) AND sync_check_in_progress = FALSE AND rsync_in_progress = FALSE`,
    end_query: `UPDATE ${table} SET sync_check_in_progress = FALSE, s3_size = (%s), gcs_size = (%s), sync_check_last_end = (%s), sync_check_frequency = sync_check_frequency + 1, sync_check_error = (%s) WHERE dir_key = (%s)`,
    error_pubsub_topic_id: 'ott-errors',
    credentials_secret_id: secretId,
  };
}

async function saveEntity(key: string, data: Record<string, unknown>): Promise<void> {
  const ds = datastoreClient(PROJECT);
  const [kind, name] = key.split('/');
  await ds.save({ key: ds.key([kind, name]), data, excludeFromIndexes: Object.keys(data) });
}

function ott(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(process.execPath, ['bin/ott.mjs', ...args], { env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } })
    .then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }))
    .catch((e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));
}

beforeAll(async () => {
  const mysql = await freshDatabase('refcfg');
  db = createDb(mysql);
  // The reference's secret payload: AWS keys and mysql_config (ssl_disabled as the reference recommends).
  secretId = uniqueName('refcfg-creds');
  const sm = makeSecretClient();
  const [s] = await sm.createSecret({ parent: `projects/${PROJECT}`, secretId, secret: {} });
  await sm.addSecretVersion({ parent: s.name, payload: { data: Buffer.from(JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: { ...mysql, ssl_disabled: true } })) } });
  await sm.close();
});

afterAll(async () => {
  await db.end();
});

describe('a reference config entity', () => {
  it('a Datastore datetime in last_modified_after loads; SQL fields are still refused on load', async () => {
    const key = `RefConfig/${uniqueName('dt')}`;
    await saveEntity(key, { mysql_table: 'transfer_state', credentials_secret_id: 'x', last_modified_after: new Date('2024-01-31T00:00:00Z'), last_modified_before: new Date('2025-01-31T00:00:00Z') });
    const c = await loadConfig({ configKey: key, gcpProject: PROJECT });
    expect(c).toMatchObject({ last_modified_after: '2024-01-31T00:00:00.000Z', last_modified_before: '2025-01-31T00:00:00.000Z' });

    const withSql = `RefConfig/${uniqueName('sql')}`;
    await saveEntity(withSql, referenceEntity('transfer_state'));
    const err = await loadConfig({ configKey: withSql, gcpProject: PROJECT }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const f of ['insert_query', 'pull_query', 'update_query', 'start_query', 'end_query']) expect(problems).toContain(`${f}: SQL text in configuration is refused`);
    expect(problems).toMatch(/num_messages: got "1", .*number.*ott config migrate/);
  });

  it('ott config migrate rewrites it, prints every change, and the migrated entity runs migrate and dump (reference flag spellings)', { timeout: 120_000 }, async () => {
    const key = `RefConfig/${uniqueName('mig')}`;
    await saveEntity(key, referenceEntity('ref_state'));
    const refused = await ott(['config', 'show', '--gcp_project', PROJECT, '--config_key', key]);
    expect(refused.code).toBe(78);

    const dry = await ott(['config', 'migrate', '--gcp_project', PROJECT, '--config_key', key, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing written');
    expect((await ott(['config', 'show', '--gcp_project', PROJECT, '--config_key', key])).code).toBe(78);

    const m = await ott(['config', 'migrate', '--gcp_project', PROJECT, '--config_key', key]);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
    const lines = m.stdout.trim().split('\n');
    expect(lines[0]).toBe(`config ${key}: 12 change(s) from the reference design`);
    expect(lines).toEqual(expect.arrayContaining([
      '  insert_query: dropped (SQL text is refused): built in: `ott dump` inserts only the subfolders not in the table (src/state/dump.ts loadNewDirs / insertNewDirs)',
      expect.stringMatching(/^ {2}pull_query: dropped \(SQL text is refused\): built in: the publishers claim rows with leases/),
      expect.stringMatching(/^ {2}update_query: dropped \(SQL text is refused\): built in: rows are flagged only after Pub\/Sub acknowledged/),
      expect.stringMatching(/^ {2}start_query: dropped \(SQL text is refused\): built in: .*lease on \*_in_progress/),
      expect.stringMatching(/^ {2}end_query: dropped \(SQL text is refused\): built in: .*finishDir/),
      '  last_modified_after: Datastore datetime -> "2024-01-31T00:00:00.000Z"',
      '  num_messages: string "1" -> number 1',
      '  signed_url_expire_seconds: string "604800" -> number 604800',
      '  replace_key_parts: dropped: None in the reference, so the default applies',
      '  url_signer_private_key_secret_id: dropped: None in the reference, so the default applies',
      '  url_signer_key_pair_id: dropped: None in the reference, so the default applies',
      '  last_modified_before: dropped: None in the reference, so the default applies',
    ]));
    expect(lines).toContain(`written to ${key} (validated)`);
    expect(lines).toContain("note: signed_url_expire_seconds: kept 604800 s; ott signs again before expiry, so the default 3600 is enough, and CloudFront's access logs keep every signed URL's query string: remove the field to use it");
    // The SQL text itself is never printed.
    expect(m.stdout).not.toMatch(/SELECT|UPDATE ref_state|INSERT INTO/);

    const shown = await ott(['config', 'show', '--gcp_project', PROJECT, '--config_key', key]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ num_messages: 1, signed_url_expire_seconds: 604800, last_modified_after: '2024-01-31T00:00:00.000Z', mysql_table: 'ref_state', credentials_secret_id: secretId });

    // It runs: the state table is made and a dump file (aws s3 ls s3://source-bucket/data/) is loaded.
    const migrated = await ott(['migrate', '--gcp_project', PROJECT, '--config_key', key]);
    expect(migrated.code, migrated.stderr + migrated.stdout).toBe(0);
    const ls = join(dir, 'ls.txt');
    writeFileSync(ls, ['                           PRE 2024-01-01/', '                           PRE 2024-01-02/', '2024-01-03 10:00:00       1234 README.txt', ''].join('\n'));
    const dumped = await ott(['dump', '--gcp_project', PROJECT, '--config_key', key, '--dump_file', ls]);
    expect(dumped.code, dumped.stderr + dumped.stdout).toBe(0);
    const [rows] = await db.query<RowDataPacket[]>('SELECT dir_key FROM ref_state ORDER BY dir_key');
    expect(rows.map((r) => r.dir_key)).toEqual(['data/2024-01-01/', 'data/2024-01-02/']);

    // `aws s3 ls s3://source-bucket/data` (no trailing slash) lists the root itself: explained, nothing loaded.
    const noSlash = join(dir, 'no-slash.txt');
    writeFileSync(noSlash, ['                           PRE data/', '                           PRE data-archive/', '2024-01-03 10:00:00         99 data.csv', ''].join('\n'));
    const refusedDump = await ott(['dump', '--gcp_project', PROJECT, '--config_key', key, '--dump_file', noSlash]);
    expect(refusedDump.code).toBe(1);
    expect(refusedDump.stdout + refusedDump.stderr).toContain('looks like `aws s3 ls s3://BUCKET/data` (no trailing slash)');
    expect(refusedDump.stdout + refusedDump.stderr).toContain('aws s3 ls s3://BUCKET/data/ >');
    const [after] = await db.query<RowDataPacket[]>('SELECT dir_key FROM ref_state ORDER BY dir_key');
    expect(after.map((r) => r.dir_key)).toEqual(['data/2024-01-01/', 'data/2024-01-02/']);
  });
});
