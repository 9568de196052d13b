// MySQL through the Cloud SQL Node.js Connector (`mysql_config.instance_connection_name`): the connector
// asks the SQL Admin API for the instance's address and server CA and for a short-lived client
// certificate, and opens mutual TLS to the instance's server-side proxy (port 3307), checking the server
// as Cloud SQL names it. With `iam_auth` the certificate carries the VM's OAuth token (automatic IAM
// database authentication): the secret holds a user and no password. Loaded only when configured.
import type { PoolOptions } from 'mysql2/promise';
import type { AuthClient } from 'google-auth-library';
import type { MysqlConfig } from './mysqlConfig.js';

export interface CloudSqlLink {
  /** Merged into the pool's options: the connector's socket factory, and no password under IAM. */
  poolOptions: Partial<PoolOptions>;
  /** Stops the connector's certificate refreshes; after the pool has ended. */
  close(): void;
}

export interface CloudSqlOptions {
  /** SQL Admin API root (tests: a fake on 127.0.0.1); Google's by default. */
  sqlAdminEndpoint?: string;
  /** Credentials for the SQL Admin API and IAM login; Application Default Credentials by default. */
  auth?: AuthClient;
}

export async function connectCloudSql(mysql: MysqlConfig, opts: CloudSqlOptions = {}): Promise<CloudSqlLink | undefined> {
  if (!mysql.instance_connection_name) return undefined;
  const { Connector, AuthTypes, IpAddressTypes } = await import('@google-cloud/cloud-sql-connector');
  const connector = new Connector({ sqlAdminAPIEndpoint: opts.sqlAdminEndpoint, auth: opts.auth });
  try {
    const { stream } = await connector.getOptions({
      instanceConnectionName: mysql.instance_connection_name,
      ipType: IpAddressTypes[mysql.ip_type ?? 'PRIVATE'],
      authType: mysql.iam_auth ? AuthTypes.IAM : AuthTypes.PASSWORD,
    });
    return { poolOptions: { stream, ...(mysql.iam_auth ? { password: undefined } : {}) }, close: () => connector.close() };
  } catch (err) {
    connector.close();
    throw new Error(`mysql_config.instance_connection_name ${mysql.instance_connection_name}: the Cloud SQL connector failed: ${(err as Error).message}`, { cause: err });
  }
}
