// Migration 005 on a table filled by the dumps before it (every listed row stamped with the run's start):
// the newest stamp becomes a recorded run, its rows become "listed" (NULL), the others keep when they were
// last listed; the next dump carries on from there.
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RowDataPacket } from 'mysql2';
import { createDb } from '../../src/common/db.js';
import { migrate } from '../../src/common/migrate.js';
import { keySha } from '../../src/state/dump.js';
import { run } from '../../src/dump/dump.js';
import { freshDatabase } from '../helpers/db.js';
import { testContext } from '../helpers/context.js';

const SQL = fileURLToPath(new URL('../../sql/', import.meta.url));

describe('migration 005 (dump_runs, last_seen NULL while listed)', () => {
  it('converts per-row stamps, and the next dump reports and marks from there', async () => {
    const mysql = await freshDatabase('dump005');
    const before = mkdtempSync(join(tmpdir(), 'ott-sql-'));
    for (const f of readdirSync(SQL).filter((f) => /^\d{3}_.*\.sql$/.test(f) && f < '005')) copyFileSync(join(SQL, f), join(before, f));
    const db = createDb(mysql);
    await migrate(db, 'transfer_state', before);
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-02-01T00:00:00Z');
    for (const [key, last] of [['root/a/', t2], ['root/b/', t1], ['root/c/', t2]] as const) {
      await db.query('INSERT INTO transfer_state (dir_key, dir_key_sha, first_seen, last_seen) VALUES (?, ?, ?, ?)', [key, keySha(key), t1, last]);
    }
    expect((await migrate(db, 'transfer_state')).applied).toContain('005_dump_runs.sql');
    const [rows] = await db.query<RowDataPacket[]>('SELECT dir_key, last_seen FROM transfer_state ORDER BY dir_key');
    expect(rows).toEqual([
      { dir_key: 'root/a/', last_seen: null },
      { dir_key: 'root/b/', last_seen: t1 },
      { dir_key: 'root/c/', last_seen: null },
    ]);
    const [seen] = await db.query<RowDataPacket[]>('SELECT dir_key, listed, last_seen FROM transfer_state_seen ORDER BY dir_key');
    expect(seen).toEqual([
      { dir_key: 'root/a/', listed: 1, last_seen: t2 },
      { dir_key: 'root/b/', listed: 0, last_seen: t1 },
      { dir_key: 'root/c/', listed: 1, last_seen: t2 },
    ]);
    await db.end();

    const ctx = await testContext('dump', { s3_root_prefix: 'root/' }, { mysql });
    const file = join(before, 'ls.txt');
    writeFileSync(file, ['a', 'b', 'd'].map((n) => `                           PRE ${n}/`).join('\n'));
    const s = await run(ctx, { dumpFile: file });
    expect(s).toMatchObject({ new: 1, existing: 2, reappeared: 1, vanished: 1, vanishedSample: ['root/c/'] });
    const [after] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key, last_seen FROM transfer_state ORDER BY dir_key');
    expect(after).toEqual([
      { dir_key: 'root/a/', last_seen: null },
      { dir_key: 'root/b/', last_seen: null },
      { dir_key: 'root/c/', last_seen: t2 }, // last listed by the latest dump before this one
      { dir_key: 'root/d/', last_seen: null },
    ]);
    await ctx.db.end();
  });
});
