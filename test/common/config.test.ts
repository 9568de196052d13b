// Config: from a file and from Datastore, every validation error path, config put/show through the CLI.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig, putConfig } from '../../src/common/config/load.js';
import { ConfigError, validateConfig } from '../../src/common/config/validate.js';
import { uniqueName } from '../helpers/names.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ott-cfg-'));
const good = { mysql_table: 'transfer_state', s3_bucket: 'src-bucket', s3_root_prefix: 'data/', gcs_bucket: 'dst', credentials_secret_id: 'ott-creds', replace_key_parts: { 'data/': '' } };

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function problems(raw: unknown): string[] {
  try {
    validateConfig(raw, 'test');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('loads from a file with the reference design defaults, frozen', async () => {
    const c = await loadConfig({ file: file('good.json', JSON.stringify(good)) });
    expect(c).toMatchObject({ logger_name: 'object-transfer-tool', max_messages_per_batch: 10, num_messages: 1, signed_url_expire_seconds: 3600, gcs_root_prefix: '', rsync_engine: 'cdn', delete_unmatched: false });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.replace_key_parts)).toBe(true);
  });

  it('names the field, the bad value and the expectation for every kind of error', () => {
    expect(problems({ ...good, mysql_table: 'state; DROP TABLE x' })[0]).toMatch(/^mysql_table: got "state; DROP TABLE x", expected a plain SQL identifier/);
    expect(problems({ ...good, pull_query: 'SELECT dir_key FROM t' })[0]).toMatch(/^pull_query: SQL text in configuration is refused; queries are built in/);
    for (const f of ['update_query', 'start_query', 'end_query', 'insert_query']) expect(problems({ ...good, [f]: 'x' })[0]).toContain(`${f}: SQL text`);
    // An unknown field's value is never echoed: it may be a secret pasted under a misspelt name.
    const unknown = problems({ ...good, aws_key_secrett: 'wJalrXUtnFEMI/K7MDENG' });
    expect(unknown[0]).toMatch(/^aws_key_secrett: unknown field \(a string; its value is not shown\)/);
    expect(unknown.join('\n')).not.toContain('wJalrXUtnFEMI');
    expect(problems({ ...good, num_single_message: 0 })[0]).toMatch(/^num_single_message: got 0, /);
    expect(problems({ ...good, num_single_message: 'fifty' })[0]).toMatch(/^num_single_message: got "fifty", .*number/);
    expect(problems({ ...good, s3_root_prefix: 'data' })[0]).toMatch(/^s3_root_prefix: got "data", expected a folder prefix ending in "\/"/);
    expect(problems({ ...good, last_modified_after: 'yesterday' })[0]).toMatch(/^last_modified_after: got "yesterday", expected an ISO-8601/);
    expect(problems({ ...good, last_modified_after: '2024-02-01T00:00:00Z', last_modified_before: '2024-01-01T00:00:00Z' })[0]).toMatch(/^last_modified_after: .*before last_modified_before/);
    expect(problems({ ...good, cloudfront_url_host_pre: 'not a url' })[0]).toMatch(/^cloudfront_url_host_pre: got "not a url", expected a URL/);
    expect(problems({ ...good, url_signer_key_pair_id: 'K1' })[0]).toMatch(/^url_signer_private_key_secret_id: /);
    expect(problems({ ...good, storage_class: 'GOLD' })[0]).toMatch(/^storage_class: got "GOLD"/);
    expect(problems({ s3_bucket: 'x' })[0]).toMatch(/^mysql_table: got undefined/);
    expect(() => validateConfig([1, 2], 'test')).toThrow(/not a JSON object/);
  });

  it('reports unreadable and malformed files clearly', async () => {
    await expect(loadConfig({ file: join(dir, 'missing.json') })).rejects.toThrow(/cannot read config file .*missing\.json/);
    await expect(loadConfig({ file: file('bad.json', '{"mysql_table": ') })).rejects.toThrow(/is not valid JSON/);
    await expect(loadConfig({})).rejects.toThrow(/no config given/);
    await expect(loadConfig({ configKey: 'no-slash' })).rejects.toThrow(/expected KIND\/NAME/);
  });

  it('round-trips through a Datastore entity, long strings included, and refuses a bad one before writing', async () => {
    const key = `OttConfig/${uniqueName('cfg')}`;
    const long = { ...good, cloudfront_url_host_pre: `https://d111.cloudfront.net/${'p'.repeat(2000)}/` };
    await putConfig(key, long, 'ott-local');
    const c = await loadConfig({ configKey: key, gcpProject: 'ott-local' });
    expect(c.cloudfront_url_host_pre).toBe(long.cloudfront_url_host_pre);
    expect(c.replace_key_parts).toEqual({ 'data/': '' });
    const other = `OttConfig/${uniqueName('bad')}`;
    await expect(putConfig(other, { ...good, insert_query: 'INSERT' }, 'ott-local')).rejects.toThrow(/queries are built in/);
    await expect(loadConfig({ configKey: other, gcpProject: 'ott-local' })).rejects.toThrow(/not found in Datastore/);
  });

  it('ott config put / show work from the CLI, and a bad config exits 78 with a one-line reason', async () => {
    const key = `OttConfig/${uniqueName('cli')}`;
    const cfg = file('cli.json', JSON.stringify(good));
    const put = await run(process.execPath, ['bin/ott.mjs', '--gcp-project', 'ott-local', 'config', 'put', '--config-key', key, '--file', cfg]);
    expect(put.stdout).toContain(`config ${key} written`);
    const show = await run(process.execPath, ['bin/ott.mjs', '--gcp-project', 'ott-local', '--config-key', key, 'config', 'show']);
    expect(JSON.parse(show.stdout)).toMatchObject({ s3_bucket: 'src-bucket', logger_name: 'object-transfer-tool' });
    const bad = file('cli-bad.json', JSON.stringify({ ...good, pull_query: 'x' }));
    const failed = await run(process.execPath, ['bin/ott.mjs', '--config', bad, 'migrate']).catch((e) => e);
    expect(failed.code).toBe(78);
    expect(failed.stderr).toContain('pull_query: SQL text in configuration is refused');
    expect(failed.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
