// `ott migrate`: applies sql/NNN_*.sql in order, each once per state table, recorded in
// schema_migrations. A named lock serializes concurrent runs (several VMs starting at once).
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';
import { tableName } from './db.js';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

function statements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

export async function migrate(db: Db, table: string, sqlDir = SQL_DIR): Promise<MigrateResult> {
  tableName(table);
  const files = (await readdir(sqlDir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  const conn = await db.getConnection();
  try {
    const [[lock]] = (await conn.query("SELECT GET_LOCK('ott_migrate', 120) AS ok")) as unknown as [[{ ok: number }]];
    if (lock.ok !== 1) throw new Error('another migrate held the lock for 120 s');
    await conn.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         state_table VARCHAR(64) NOT NULL, name VARCHAR(128) NOT NULL,
         applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (state_table, name))`,
    );
    const [rows] = (await conn.query('SELECT name FROM schema_migrations WHERE state_table = ?', [table])) as unknown as [{ name: string }[]];
    const done = new Set(rows.map((r) => r.name));
    const result: MigrateResult = { applied: [], alreadyApplied: [] };
    for (const f of files) {
      if (done.has(f)) {
        result.alreadyApplied.push(f);
        continue;
      }
      const sql = (await readFile(`${sqlDir}/${f}`, 'utf8')).replaceAll('{{table}}', table);
      for (const stmt of statements(sql)) await conn.query(stmt);
      await conn.query('INSERT INTO schema_migrations (state_table, name) VALUES (?, ?)', [table, f]);
      result.applied.push(f);
    }
    return result;
  } finally {
    await conn.query("SELECT RELEASE_LOCK('ott_migrate')").catch(() => undefined);
    conn.release();
  }
}
