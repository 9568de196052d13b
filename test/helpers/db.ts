// A fresh MySQL database per test file on the stack's MariaDB, so files never see each other's rows.
import { createConnection } from 'mysql2/promise';
import { uniqueName } from './names.js';
import type { Secrets } from '../../src/common/secrets.js';

export async function freshDatabase(prefix = 'ott'): Promise<Secrets['mysql_config']> {
  const env = process.env;
  if (!env.OTT_MYSQL_PORT) throw new Error('OTT_MYSQL_PORT is not set: is the local stack running?');
  const database = uniqueName(prefix).replace(/-/g, '_');
  const conn = await createConnection({ host: env.OTT_MYSQL_HOST, port: Number(env.OTT_MYSQL_PORT), user: env.OTT_MYSQL_USER, password: env.OTT_MYSQL_PASSWORD });
  try {
    await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
  return {
    host: env.OTT_MYSQL_HOST!,
    port: Number(env.OTT_MYSQL_PORT),
    user: env.OTT_MYSQL_USER!,
    password: env.OTT_MYSQL_PASSWORD!,
    database,
    ssl_disabled: true,
  };
}
