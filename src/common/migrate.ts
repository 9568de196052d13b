// `ott migrate`: applies sql/NNN_*.sql in order, each once per state table, recorded in
// schema_migrations. A named lock serializes concurrent runs (several VMs starting at once). A table made
// by the reference design is refused, or with `adopt` converted in place first (adopt.ts, sql/adopt/).
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';
import { tableName } from './db.js';
import { adoptReference, ReferenceTableError, tableShape, type Adopted } from './adopt.js';

const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
  /** Set when --adopt converted a reference table: what its rows held. */
  adopted?: Adopted;
}

export interface MigrateOptions {
  /** Convert a table made by the reference design's CREATE TABLE in place (`ott migrate --adopt`). */
  adopt?: boolean;
}

/** A migration file's statements: split at a `;` ending a line, comment lines dropped. */
export function statements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

export async function migrate(db: Db, table: string, sqlDir = SQL_DIR, opts: MigrateOptions = {}): Promise<MigrateResult> {
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
    const run = async (sql: string): Promise<void> => {
      for (const stmt of statements(sql)) await conn.query(stmt);
    };
    const first = files[0];
    if (first && !done.has(first)) {
      const shape = await tableShape(conn, table);
      if (shape === 'reference' || shape === 'reference-half-adopted') {
        if (!opts.adopt) {
          const [[n]] = (await conn.query(`SELECT COUNT(*) AS n FROM ${tableName(table)}`)) as unknown as [[{ n: number }]];
          throw new ReferenceTableError(table, Number(n.n));
        }
        result.adopted = await adoptReference(conn, table, sqlDir, run);
        // The table is now what the first migration makes: recorded, so it is never re-run over it.
        await conn.query('INSERT INTO schema_migrations (state_table, name) VALUES (?, ?)', [table, first]);
        done.add(first);
        result.applied.push(`adopt: ${first}`);
      }
    }
    for (const f of files) {
      if (done.has(f)) {
        if (!result.adopted || f !== first) result.alreadyApplied.push(f);
        continue;
      }
      await run((await readFile(`${sqlDir}/${f}`, 'utf8')).replaceAll('{{table}}', table));
      await conn.query('INSERT INTO schema_migrations (state_table, name) VALUES (?, ?)', [table, f]);
      result.applied.push(f);
    }
    return result;
  } finally {
    await conn.query("SELECT RELEASE_LOCK('ott_migrate')").catch(() => undefined);
    conn.release();
  }
}
