// migrate: applies the schema once, twice is a no-op, and the table keeps the reference's columns.
import { describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import { migrate } from '../../src/common/migrate.js';
import { testContext } from '../helpers/context.js';

const REFERENCE_COLUMNS = ['dir_key', 'initial_transfer', 's3_size', 'gcs_size', 'cdn_transfer_published', 'sync_check_published', 'rsync_published', 'sync_check_in_progress', 'rsync_in_progress', 'sync_check_frequency', 'rsync_frequency', 'sync_check_last_start', 'sync_check_last_end', 'rsync_last_start', 'rsync_last_end', 'sync_check_error', 'rsync_error'];

describe('migrate', () => {
  it('creates the state table once; running it again changes nothing', async () => {
    const ctx = await testContext('migrate', {}, { migrate: false });
    const first = await migrate(ctx.db, 'transfer_state');
    expect(first.applied).toContain('001_state_table.sql');
    const second = await migrate(ctx.db, 'transfer_state');
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    const [cols] = await ctx.db.query<RowDataPacket[]>('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', ['transfer_state']);
    const names = cols.map((r) => r.c);
    for (const c of REFERENCE_COLUMNS) expect(names).toContain(c);
    // Keys are case-sensitive and may be 1024 bytes long.
    await ctx.db.query('INSERT INTO transfer_state (dir_key, dir_key_sha) VALUES (?, UNHEX(SHA2(?, 256))), (?, UNHEX(SHA2(?, 256)))', ['A/', 'A/', 'a/', 'a/']);
    const long = `${'é'.repeat(511)}/`;
    await ctx.db.query('INSERT INTO transfer_state (dir_key, dir_key_sha) VALUES (?, UNHEX(SHA2(?, 256)))', [long, long]);
    const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key FROM transfer_state WHERE dir_key = ?', ['a/']);
    expect(rows.map((r) => r.dir_key)).toEqual(['a/']);
    await ctx.db.end();
  });
});

describe('database sessions', () => {
  it('run in UTC on every pooled connection, whatever the server zone, so leases compare one clock', async () => {
    const ctx = await testContext('tz', {}, { migrate: false });
    try {
      const conns = await Promise.all([ctx.db.getConnection(), ctx.db.getConnection(), ctx.db.getConnection()]);
      for (const c of conns) {
        const [[row]] = (await c.query('SELECT @@session.time_zone AS tz, TIMESTAMPDIFF(SECOND, NOW(), UTC_TIMESTAMP()) AS skew')) as unknown as [[{ tz: string; skew: number }]];
        expect(row).toEqual({ tz: '+00:00', skew: 0 });
        c.release();
      }
    } finally {
      await ctx.db.end();
    }
  });
});
