// One mysql2 pool per process. BIGINT UNSIGNED comes back as a number while it is exact (< 2^53, i.e.
// 8 PiB of bytes in one subfolder) and as a string beyond, never silently rounded.
import { createPool, type Pool, type PoolOptions } from 'mysql2/promise';
import type { Secrets } from './secrets.js';
import { tlsPoolOptions } from './mysqlConfig.js';

export type Db = Pool;

export function createDb(mysql: Secrets['mysql_config'], extra: Partial<PoolOptions> = {}): Db {
  const pool = createPool({
    host: mysql.host,
    port: mysql.port,
    user: mysql.user,
    password: mysql.password,
    database: mysql.database,
    charset: 'utf8mb4_bin',
    supportBigNumbers: true,
    bigNumberStrings: false,
    timezone: 'Z',
    connectionLimit: 8,
    connectTimeout: 10_000,
    enableKeepAlive: true,
    ...tlsPoolOptions(mysql),
    ...extra,
  });
  // Leases compare NOW()/UTC_TIMESTAMP() and DATETIME columns written by many VMs: every session runs in
  // UTC so both functions agree and no server time-zone setting can shift a lease.
  pool.pool.on('connection', (conn) => conn.query("SET time_zone = '+00:00'"));
  return pool;
}

/** The state table name, quoted: it comes from config, validated as a plain identifier. */
export function tableName(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(table)) throw new Error(`mysql_table: got ${JSON.stringify(table)}, expected a plain identifier`);
  return `\`${table}\``;
}
