// mysql_config, the credentials secret's MySQL part (the reference design's fields), and how TLS to it is
// verified. With `ssl_disabled: false` the server's certificate must chain to `ssl_ca` (PEM text, or the
// Secret Manager secret holding it; Node's public roots when absent, which Cloud SQL's own CA is not in)
// and, unless `ssl_verify_identity` is false, name the server: `ssl_server_name` when set, else `host`.
import { X509Certificate } from 'node:crypto';
import { isIP, connect, type Socket } from 'node:net';
import type { PoolOptions } from 'mysql2/promise';
import { z } from 'zod';
import { ConfigError } from './config/validate.js';

export const mysqlConfigSchema = z
  .object({
    /** The server's address; not with instance_connection_name (the connector finds the instance). */
    host: z.string().min(1).optional(),
    port: z.coerce.number().int().min(1).max(65535).default(3306),
    user: z.string().min(1),
    /** Required, except with iam_auth (then none: the connector's certificate carries the token). */
    password: z.string().optional(),
    database: z.string().min(1),
    /** Cloud SQL `PROJECT:REGION:INSTANCE`: connect through the Cloud SQL Node.js Connector (src/common/cloudSql.ts). */
    instance_connection_name: z
      .string()
      .regex(/^([a-z0-9.-]+:)?[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]+$/i, 'expected PROJECT:REGION:INSTANCE (gcloud sql instances describe INSTANCE --format="value(connectionName)")')
      .optional(),
    /** Which of the instance's addresses the connector dials (default PRIVATE). */
    ip_type: z.enum(['PRIVATE', 'PUBLIC', 'PSC']).optional(),
    /** Automatic IAM database authentication through the connector: the user is the service account's IAM user. */
    iam_auth: z.boolean().optional(),
    ssl_disabled: z.boolean().default(true),
    /** The CA that signed the server's certificate: PEM text, or a secret id / `projects/P/secrets/S[/versions/V]`. */
    ssl_ca: z.string().min(1).optional(),
    /** Check that the certificate names the server (MySQL's VERIFY_IDENTITY, when absent); false checks the CA only (VERIFY_CA). */
    ssl_verify_identity: z.boolean().optional(),
    /** The name the certificate must carry when `host` is an address (e.g. Cloud SQL's private IP). */
    ssl_server_name: z.string().min(1).optional(),
  })
  .superRefine((m, ctx) => {
    const issue = (field: string, message: string): void => ctx.addIssue({ code: 'custom', path: [field], message });
    if (m.iam_auth && m.password) issue('password', 'expected none with iam_auth: the connector logs in with the VM\'s IAM identity');
    if (!m.iam_auth && m.password === undefined) issue('password', 'expected a string (or iam_auth: true with instance_connection_name)');
    if (m.instance_connection_name) {
      // The connector finds the instance, and does TLS (mutual, to the server Cloud SQL names) itself.
      for (const f of ['host', 'ssl_ca', 'ssl_server_name', 'ssl_verify_identity'] as const) {
        if (m[f] !== undefined) issue(f, 'expected none with instance_connection_name: the Cloud SQL connector finds and verifies the instance');
      }
      return;
    }
    if (m.host === undefined) issue('host', 'expected the server address (or instance_connection_name for Cloud SQL)');
    for (const f of ['ip_type', 'iam_auth'] as const) {
      if (m[f] !== undefined) issue(f, 'expected only with instance_connection_name (the Cloud SQL connector)');
    }
    if (m.ssl_disabled) {
      for (const f of ['ssl_ca', 'ssl_server_name'] as const) {
        if (m[f] !== undefined) issue(f, 'expected only with ssl_disabled: false (TLS is off, so nothing would be verified)');
      }
      return;
    }
    // mysql2 checks an address host against the name "localhost" (it passes no servername for an IP), which
    // is wrong both ways: refuse it and say what works.
    if (verifiesIdentity(m) && isIP(m.host ?? '') && !m.ssl_server_name) {
      issue('ssl_server_name', `expected with an IP address host (${m.host}) and ssl_verify_identity: the name in the server's certificate; or set ssl_verify_identity: false to check the CA only`);
    }
  });
export type MysqlConfig = z.infer<typeof mysqlConfigSchema>;

function verifiesIdentity(m: Pick<MysqlConfig, 'ssl_verify_identity'>): boolean {
  return m.ssl_verify_identity !== false;
}

const PEM_CERT = '-----BEGIN CERTIFICATE-----';

/** `ssl_ca` as PEM: read from Secret Manager when it names a secret; checked to hold a certificate. */
export async function resolveSslCa(mysql: MysqlConfig, readSecret: (id: string) => Promise<string>): Promise<MysqlConfig> {
  if (mysql.ssl_ca === undefined) return mysql;
  const fromSecret = !mysql.ssl_ca.includes(PEM_CERT);
  if (fromSecret && !/^[A-Za-z0-9][A-Za-z0-9_/.~%+-]*$/.test(mysql.ssl_ca)) {
    throw new ConfigError('mysql_config.ssl_ca: expected a PEM certificate (-----BEGIN CERTIFICATE-----) or a Secret Manager secret id', []);
  }
  const pem = fromSecret ? await readSecret(mysql.ssl_ca) : mysql.ssl_ca;
  const where = fromSecret ? `secret ${mysql.ssl_ca}` : 'its inline value';
  try {
    if (!pem.includes(PEM_CERT)) throw new Error('no PEM block');
    new X509Certificate(pem);
  } catch {
    throw new ConfigError(`mysql_config.ssl_ca: ${where} holds no readable PEM certificate (expected -----BEGIN CERTIFICATE-----)`, []);
  }
  return { ...mysql, ssl_ca: pem };
}

/** mysql2 pool options for TLS: none when disabled. */
export function tlsPoolOptions(mysql: MysqlConfig): Partial<PoolOptions> {
  if (mysql.ssl_disabled || mysql.instance_connection_name) return {};
  const ssl = { rejectUnauthorized: true, verifyIdentity: verifiesIdentity(mysql), ...(mysql.ssl_ca ? { ca: mysql.ssl_ca } : {}) };
  if (!mysql.ssl_server_name) return { ssl };
  // mysql2 checks the certificate against its `host` option: hand it the certificate's name and dial the
  // configured address ourselves (its `stream` factory), keeping what mysql2 does to its own sockets.
  return {
    ssl,
    host: mysql.ssl_server_name,
    stream: (): Socket => connect({ host: mysql.host, port: mysql.port, noDelay: true, keepAlive: true }),
  };
}

const HANDSHAKE_CODES = new Set(['HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT']);
/** The Cloud SQL connector's refusals of the server's certificate. */
const CONNECTOR_CERT_CODES = new Set(['EBADSQLADMINVERIFYCERT', 'ENOSQLADMINVERIFYCERT']);

/**
 * With TLS on (or the Cloud SQL connector), one query at start: a refused certificate (or a server without
 * TLS) never gets better by retrying, so it is a configuration error (exit 78), not a crash loop. Other
 * failures (MySQL down) are left to the modes, which meet outages as they always do.
 */
export async function checkTls(query: () => Promise<unknown>, mysql: MysqlConfig): Promise<void> {
  if (mysql.ssl_disabled && !mysql.instance_connection_name) return;
  try {
    await query();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string') return;
    const why = (err as Error).message;
    if (mysql.instance_connection_name && CONNECTOR_CERT_CODES.has(code)) {
      throw new ConfigError(`mysql_config: TLS to Cloud SQL instance ${mysql.instance_connection_name} failed: ${why}; check instance_connection_name`, []);
    }
    if (mysql.instance_connection_name || !HANDSHAKE_CODES.has(code)) return;
    const name = mysql.ssl_server_name ?? mysql.host;
    throw new ConfigError(
      `mysql_config: TLS to ${mysql.host}:${mysql.port} failed: ${why}; ssl_ca must hold the CA that signed the server's certificate` +
        (verifiesIdentity(mysql) ? ` and the certificate must name ${name}` : ''),
      [],
    );
  }
}
