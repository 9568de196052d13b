// MySQL over TLS against a private MariaDB that serves a certificate from its own CA (made by openssl at
// test time, for the name mysql.ott.test only): the verified path connects (inline PEM, or the CA from
// Secret Manager) over an encrypted session; a wrong CA, no CA (Node's public roots), a wrong name and a
// server without TLS are refused at start with exit 78 and a line saying why, never a retry loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { startStack, type Stack } from '../stack/index.js';
import { makeSecretClient } from '../stack/secretManager/client.js';
import { makeTestPki, type TestPki } from '../helpers/tlsCerts.js';
import { uniqueName } from '../helpers/names.js';
import { loadSecrets } from '../../src/common/secrets.js';
import { validateConfig } from '../../src/common/config/validate.js';
import { readEnv } from '../../src/common/config/env.js';
import { createDb } from '../../src/common/db.js';
import type { MysqlConfig } from '../../src/common/mysqlConfig.js';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ott-tls-'));
const SERVER_NAME = 'mysql.ott.test';
const TLS_USER = 'ott_tls';
const TLS_PASSWORD = 'tls-only-Pa55word';
let pki: TestPki;
let stack: Stack;
let port: number;

beforeAll(async () => {
  pki = makeTestPki([`DNS:${SERVER_NAME}`]);
  stack = await startStack({ only: ['mariadb'], mariadbTls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile } });
  port = Number(stack.env.OTT_MYSQL_PORT);
  const c = await createConnection({ host: '127.0.0.1', port, user: stack.env.OTT_MYSQL_USER, password: stack.env.OTT_MYSQL_PASSWORD });
  await c.query('CREATE DATABASE tls_state CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
  // This account cannot log in without TLS: a connection that works proves the session is encrypted.
  await c.query(`CREATE USER '${TLS_USER}'@'%' IDENTIFIED BY '${TLS_PASSWORD}' REQUIRE SSL`);
  await c.query(`GRANT ALL PRIVILEGES ON tls_state.* TO '${TLS_USER}'@'%'`);
  await c.end();
});

afterAll(async () => {
  await stack?.stop();
});

function mysqlConfig(tls: Partial<MysqlConfig>): Record<string, unknown> {
  return { host: '127.0.0.1', port, user: TLS_USER, password: TLS_PASSWORD, database: 'tls_state', ssl_disabled: false, ...tls };
}

/** `ott migrate` as a VM runs it, with credentials holding this mysql_config. */
function ottMigrate(mysql: Record<string, unknown>): Promise<{ code: number; out: string }> {
  const name = uniqueName('tls');
  const creds = join(dir, `${name}-creds.json`);
  writeFileSync(creds, JSON.stringify({ mysql_config: mysql }));
  const cfg = join(dir, `${name}-cfg.json`);
  writeFileSync(cfg, JSON.stringify({ mysql_table: 'transfer_state', credentials_file: creds }));
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/ott.mjs', '--config', cfg, 'migrate'], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

async function sslCipher(mysql: MysqlConfig): Promise<string> {
  const db = createDb(mysql);
  try {
    const [rows] = await db.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    return String(rows[0]?.Value ?? '');
  } finally {
    await db.end();
  }
}

describe('MySQL TLS with the server verified against a CA we give', () => {
  it('verified: ott migrate connects with the CA inline (PEM) and the certificate name, over TLS', async () => {
    const r = await ottMigrate(mysqlConfig({ ssl_ca: pki.caPem, ssl_server_name: SERVER_NAME }));
    expect(r.code, r.out).toBe(0);
    const c = await createConnection({ host: '127.0.0.1', port, user: stack.env.OTT_MYSQL_USER, password: stack.env.OTT_MYSQL_PASSWORD });
    const [tables] = await c.query<RowDataPacket[]>("SHOW TABLES FROM tls_state LIKE 'transfer_state'");
    await c.end();
    expect(tables).toHaveLength(1);
  });

  it('verified: the CA read from a Secret Manager secret (by id and by full name) gives an encrypted session', async () => {
    const sm = makeSecretClient();
    const id = uniqueName('mysql-ca');
    const [s] = await sm.createSecret({ parent: 'projects/ott-local', secretId: id, secret: {} });
    await sm.addSecretVersion({ parent: s.name, payload: { data: Buffer.from(pki.caPem) } });
    const credsId = uniqueName('tls-creds');
    const [c] = await sm.createSecret({ parent: 'projects/ott-local', secretId: credsId, secret: {} });
    await sm.addSecretVersion({ parent: c.name, payload: { data: Buffer.from(JSON.stringify({ mysql_config: mysqlConfig({ ssl_ca: id, ssl_server_name: SERVER_NAME }) })) } });
    await sm.close();
    const config = validateConfig({ mysql_table: 't', credentials_secret_id: credsId }, 'test');
    const secrets = await loadSecrets(config, 'ott-local', readEnv().endpoints);
    expect(secrets.mysql_config.ssl_ca).toBe(pki.caPem);
    expect(await sslCipher(secrets.mysql_config)).toMatch(/^TLS_|AES|CHACHA/);

    const byName = join(dir, 'by-name.json');
    writeFileSync(byName, JSON.stringify({ mysql_config: mysqlConfig({ ssl_ca: `projects/ott-local/secrets/${id}/versions/1`, ssl_verify_identity: false }) }));
    const viaName = await loadSecrets(validateConfig({ mysql_table: 't', credentials_file: byName }, 'test'), 'ott-local', readEnv().endpoints);
    expect(await sslCipher(viaName.mysql_config)).not.toBe('');
  });

  it('ssl_verify_identity false checks the CA only (VERIFY_CA): an address host without the name connects', async () => {
    const secrets = await secretsFor(mysqlConfig({ ssl_ca: pki.caPem, ssl_verify_identity: false }));
    expect(await sslCipher(secrets.mysql_config)).not.toBe('');
  });

  it.each<[string, { ssl_ca?: 'right' | 'other'; ssl_server_name?: string; host?: string }, RegExp]>([
    ['a CA that did not sign the server certificate', { ssl_ca: 'other', ssl_server_name: SERVER_NAME }, /self-signed certificate in certificate chain/],
    ['no CA given (Node public roots)', { ssl_server_name: SERVER_NAME }, /self-signed certificate in certificate chain/],
    ['a name the certificate does not carry', { ssl_ca: 'right', ssl_server_name: 'other.ott.test' }, /Hostname\/IP does not match certificate's altnames: Host: other\.ott\.test/],
    ['a host name the certificate does not carry', { ssl_ca: 'right', host: 'localhost' }, /Hostname\/IP does not match certificate's altnames: Host: localhost/],
  ])('refused: %s -> exit 78 naming the reason', async (_name, tls, why) => {
    const ca = tls.ssl_ca === 'right' ? pki.caPem : tls.ssl_ca === 'other' ? pki.otherCaPem : undefined;
    const r = await ottMigrate(mysqlConfig({ ...tls, ssl_ca: ca }));
    expect(r.code, r.out).toBe(78);
    expect(r.out).toMatch(why);
    expect(r.out).toContain(`TLS to ${tls.host ?? '127.0.0.1'}:${port} failed`);
    expect(r.out).not.toContain(TLS_PASSWORD);
  });

  it('refused: ssl_disabled false against a server without TLS -> exit 78', async () => {
    const env = process.env;
    const r = await ottMigrate({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD, database: 'mysql', ssl_disabled: false, ssl_verify_identity: false });
    expect(r.code, r.out).toBe(78);
    expect(r.out).toMatch(/TLS to .* failed: Server does not support secure connection/);
  });
});

async function secretsFor(mysql: Record<string, unknown>) {
  const creds = join(dir, `${uniqueName('c')}.json`);
  writeFileSync(creds, JSON.stringify({ mysql_config: mysql }));
  return loadSecrets(validateConfig({ mysql_table: 't', credentials_file: creds }, 'test'), 'ott-local', readEnv().endpoints);
}

describe('mysql_config TLS fields that cannot work are refused before connecting', () => {
  it.each([
    ['an address host with identity checks and no ssl_server_name', { ssl_ca: 'right' }, /mysql_config\.ssl_server_name: .*IP address host \(127\.0\.0\.1\)/],
    ['ssl_ca with TLS off', { ssl_disabled: true, ssl_ca: 'right' }, /mysql_config\.ssl_ca: expected only with ssl_disabled: false/],
    ['ssl_ca that is no certificate', { ssl_ca: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n', ssl_verify_identity: false }, /mysql_config\.ssl_ca: its inline value holds no readable PEM certificate/],
    ['ssl_ca naming a missing secret', { ssl_ca: 'no-such-ca-secret', ssl_verify_identity: false }, /cannot read secret projects\/ott-local\/secrets\/no-such-ca-secret\/versions\/latest/],
  ])('%s', async (_name, tls, why) => {
    const ca = tls.ssl_ca === 'right' ? pki.caPem : tls.ssl_ca;
    await expect(secretsFor(mysqlConfig({ ...tls, ssl_ca: ca }))).rejects.toThrow(why);
  });
});
