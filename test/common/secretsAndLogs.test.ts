// Secrets from the Secret Manager fake and from a file; no secret ever reaches a log line or an error.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeSecretClient } from '../stack/secretManager/client.js';
import { loadSecrets } from '../../src/common/secrets.js';
import { validateConfig } from '../../src/common/config/validate.js';
import { readEnv } from '../../src/common/config/env.js';
import { createLogger } from '../../src/common/log.js';
import { freshDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/names.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ott-sec-'));

describe('secrets', () => {
  it('reads the reference payload and the signing key from Secret Manager', async () => {
    const sm = makeSecretClient();
    const id = uniqueName('creds');
    const keyId = uniqueName('signkey');
    const [s] = await sm.createSecret({ parent: 'projects/ott-local', secretId: id, secret: {} });
    await sm.addSecretVersion({ parent: s.name, payload: { data: Buffer.from(JSON.stringify({ aws_key_id: 'AKIAEXAMPLE123', aws_key_secret: 'wJalrXUtnFEMI-secret', mysql_config: { host: 'h', user: 'u', password: 'hunter2-long', database: 'd' } })) } });
    const [k] = await sm.createSecret({ parent: 'projects/ott-local', secretId: keyId, secret: {} });
    await sm.addSecretVersion({ parent: k.name, payload: { data: Buffer.from('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n') } });
    await sm.close();
    const config = validateConfig({ mysql_table: 't', credentials_secret_id: id, url_signer_key_pair_id: 'K1', url_signer_private_key_secret_id: keyId }, 'test');
    const secrets = await loadSecrets(config, 'ott-local', readEnv().endpoints);
    expect(secrets.mysql_config).toMatchObject({ host: 'h', port: 3306, password: 'hunter2-long', ssl_disabled: true });
    expect(secrets.url_signer_private_key).toContain('BEGIN PRIVATE KEY');
    const missing = validateConfig({ mysql_table: 't', credentials_secret_id: uniqueName('nope') }, 'test');
    await expect(loadSecrets(missing, 'ott-local', readEnv().endpoints)).rejects.toThrow(/cannot read secret projects\/ott-local\/secrets\/nope-.*not found/);
  });

  it('masks registered secrets, URL signatures and PEM blocks in every log line', () => {
    const lines: string[] = [];
    const log = createLogger({ labels: { logger_name: 'x' }, write: (l) => lines.push(l) });
    // hunter2-long and the AWS secret were registered by the previous test's loadSecrets
    log.info('connecting with hunter2-long', { url: 'https://d1.cloudfront.net/a/b?Policy=eyJTdGF0&Signature=abc~def_&Key-Pair-Id=K2ABC', key: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----' });
    const line = lines.join('');
    expect(line).not.toContain('hunter2-long');
    expect(line).not.toContain('eyJTdGF0');
    expect(line).not.toContain('abc~def_');
    expect(line).not.toContain('MIIE');
    const entry = JSON.parse(line);
    expect(entry).toMatchObject({ severity: 'INFO', 'logging.googleapis.com/labels': { logger_name: 'x' } });
  });

  it('a real CLI run with bad database credentials prints no secret anywhere', async () => {
    const mysql = await freshDatabase('sec');
    const password = 'Sup3r-Secret-Pa55word';
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ aws_key_id: 'AKIAFAKEKEYID0001', aws_key_secret: 'aws/Secret+Key=Value0001', mysql_config: { ...mysql, password } }));
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ mysql_table: 'transfer_state', credentials_file: creds }));
    const r = await run(process.execPath, ['bin/ott.mjs', '--config', cfg, 'migrate']).catch((e) => e);
    expect(r.code).toBe(1);
    const all = `${r.stdout}${r.stderr}`;
    expect(all).toMatch(/Access denied/);
    for (const s of [password, 'aws/Secret+Key=Value0001', 'AKIAFAKEKEYID0001']) expect(all).not.toContain(s);
  });
});
