// dump against the real stack: from S3 and from an `aws s3 ls` file, initial then delta, odd names.
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run } from '../../src/dump/dump.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext } from '../helpers/context.js';

const s3 = makeS3Client();
const bucket = uniqueName('dump');
const dir = mkdtempSync(join(tmpdir(), 'ott-dump-'));
const SUBFOLDERS = ['data/A/', 'data/a/', 'data/nested/', 'data/only-subs/', 'data/space dir/', 'data/plus+dir/', 'data/pct%20dir/', 'data/unicodé-日本/'];

async function put(key: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
}

async function dirKeys(ctx: Awaited<ReturnType<typeof testContext>>): Promise<RowDataPacket[]> {
  const [rows] = await ctx.db.query<RowDataPacket[]>('SELECT dir_key, initial_transfer, cdn_transfer_published FROM transfer_state ORDER BY dir_key');
  return rows;
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const d of SUBFOLDERS) await put(d === 'data/only-subs/' ? `${d}inner/deeper/x` : d === 'data/nested/' ? `${d}a/b/c.txt` : `${d}file.txt`);
  await put('data/root-object.txt'); // an object at the root is not a subfolder
});

describe('dump', () => {
  it('loads every subfolder from S3, then only the new ones, reporting vanished ones', async () => {
    const ctx = await testContext('dump', { s3_bucket: bucket, s3_root_prefix: 'data/' });
    const first = await run(ctx, { batchSize: 3 });
    expect(first).toMatchObject({ scanned: SUBFOLDERS.length, new: SUBFOLDERS.length, existing: 0, vanished: 0, badLines: 0 });
    const rows = await dirKeys(ctx);
    expect(rows.map((r) => r.dir_key).sort()).toEqual([...SUBFOLDERS].sort());
    expect(rows.every((r) => r.initial_transfer === 1 && r.cdn_transfer_published === 0)).toBe(true);

    // Mark one as published: a delta run must not touch it.
    await ctx.db.query('UPDATE transfer_state SET cdn_transfer_published = TRUE, initial_transfer = FALSE WHERE dir_key = ?', ['data/A/']);
    const again = await run(ctx);
    expect(again).toMatchObject({ scanned: SUBFOLDERS.length, new: 0, existing: SUBFOLDERS.length, vanished: 0 });

    await put('data/new-one/x');
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/plus+dir/file.txt' }));
    const delta = await run(ctx);
    expect(delta).toMatchObject({ new: 1, existing: SUBFOLDERS.length - 1, vanished: 1, vanishedSample: ['data/plus+dir/'] });
    const after = await dirKeys(ctx);
    expect(after.find((r) => r.dir_key === 'data/A/')).toMatchObject({ cdn_transfer_published: 1, initial_transfer: 0 });
    expect(after.some((r) => r.dir_key === 'data/plus+dir/')).toBe(true); // reported, not deleted
    await ctx.db.end();
  });

  it('reads an aws s3 ls dump, counting bad lines with their numbers, never failing on them', async () => {
    const ctx = await testContext('dump', { s3_bucket: bucket, s3_root_prefix: 'root/' });
    const file = join(dir, 'dump.txt');
    writeFileSync(
      file,
      [
        '                           PRE alpha/',
        '                           PRE Alpha/',
        '                           PRE with space/',
        '2024-01-01 10:00:00       1234 not-a-folder.txt',
        'garbage line here',
        '                           PRE unicodé+%/',
        '                           PRE back\\slash\ttab/',
        '                           PRE alpha/',
        '',
        'PRE missing-slash',
      ].join('\r\n'),
    );
    const s = await run(ctx, { dumpFile: file });
    expect(s).toMatchObject({ scanned: 5, new: 5, badLines: 2 });
    expect(s.badLineSample.map((b) => b.lineNo)).toEqual([5, 10]);
    const rows = await dirKeys(ctx);
    expect(rows.map((r) => r.dir_key).sort()).toEqual(['root/Alpha/', 'root/alpha/', 'root/unicodé+%/', 'root/with space/', 'root/back\\slash\ttab/'].sort());
    const twice = await run(ctx, { dumpFile: file });
    expect(twice).toMatchObject({ new: 0, existing: 5, vanished: 0 });
    await ctx.db.end();
  });

  it('runs as the real CLI: migrate then dump, printing a summary', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const ctx = await testContext('dump', {});
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
    const cfg = join(dir, 'cli.json');
    writeFileSync(cfg, JSON.stringify({ mysql_table: 'cli_state', credentials_file: creds, s3_bucket: bucket, s3_root_prefix: 'data/' }));
    const exec = promisify(execFile);
    await exec(process.execPath, ['bin/ott.mjs', '--config', cfg, 'migrate']);
    const out = await exec(process.execPath, ['bin/ott.mjs', '--config', cfg, 'dump']);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const done = lines.find((l) => l.message === 'dump finished');
    // the first test added data/new-one/ and emptied data/plus+dir/
    expect(done.summary).toMatchObject({ new: SUBFOLDERS.length, vanished: 0, badLines: 0 });
    expect(lines.some((l) => l.message === 'dump: done' && l.scanned === done.summary.scanned)).toBe(true);
    await ctx.db.end();
  });
});

describe('dump without LOAD DATA LOCAL', () => {
  it('falls back to multi-row INSERTs when the server or client refuses local infile, with the same outcome', async () => {
    const { createDb } = await import('../../src/common/db.js');
    const ctx = await testContext('dump', { s3_bucket: bucket, s3_root_prefix: 'root/' });
    await ctx.db.end();
    ctx.db = createDb(ctx.secrets.mysql_config, { flags: ['-LOCAL_FILES'] });
    const file = join(dir, 'fallback.txt');
    writeFileSync(file, ['                           PRE one/', '                           PRE two/'].join('\n'));
    const s = await run(ctx, { dumpFile: file });
    expect(s).toMatchObject({ new: 2, method: 'multi-row INSERT' });
    expect(await run(ctx, { dumpFile: file })).toMatchObject({ new: 0, existing: 2, vanished: 0 });
    await ctx.db.end();
  });
});
