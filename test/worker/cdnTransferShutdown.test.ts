// Shutdown: SIGTERM (the ctx signal) stops pulling; an in-flight object that finishes within the grace
// period counts; one that cannot is abandoned with nothing finalized or counted, its message nacked and
// redelivered, and finished by the next run. Then the real CLI with --processes 2, stopped by SIGTERM.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/worker/cdnTransfer.js';
import { addFaults, listFaults } from '../stack/faults.js';
import { addDirRow, bytesFor, cdnEndpoint, createWorld, dirCounters, listGcs, publish, putObject, readGcs, worldContext, type World } from './cdnTransferHarness.js';

const MiB = 1024 * 1024;
let w: World;
beforeAll(async () => {
  w = await createWorld('cdnx', { grace_period_seconds: 2 });
});

async function until(what: string, pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cdnTransfer shutdown', () => {
  it('finishes in-flight objects within the grace period, abandons the rest uncounted, and the redelivery finishes them', async () => {
    const ctx = await worldContext(w);
    const dir = 'data/stop/';
    await addDirRow(ctx, dir);
    const quick = await putObject(w, `${dir}quick.bin`, 50_000);
    const slow = await putObject(w, `${dir}slow.bin`, 3 * MiB);
    // quick answers within the grace period, slow only long after it.
    await addFaults(cdnEndpoint(), [
      { match: { op: 'get', bucket: w.s3Bucket, prefix: quick.key }, action: { delayMs: 800 } },
      { match: { op: 'get', bucket: w.s3Bucket, prefix: slow.key }, action: { delayMs: 8000 } },
    ]);
    await publish(w, dir, [quick, slow]);
    const running = run(ctx, { tunables: { singleRequestMaxBytes: 1 * MiB, chunkBytes: 256 * 1024 } });
    await until('both downloads in flight', async () => (await listFaults(cdnEndpoint())).every((f) => f.hits === 1));
    ctx.abort(); // what SIGTERM does through shutdownSignal()
    const s = await running;
    expect(s).toMatchObject({ copied: 1, failed: 0, acked: 0, nacked: 1 });
    expect(await listGcs(w)).toEqual(['copy/stop/quick.bin']);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 1, failed_objects: 0 });
    expect(ctx.logs.some((l) => l.includes('cdnTransfer: stopping'))).toBe(true);

    const next = await worldContext(w, {}, ctx);
    const again = await run(next, { exitWhenIdleMs: 1500, tunables: { singleRequestMaxBytes: 1 * MiB, chunkBytes: 256 * 1024 } });
    expect(again).toMatchObject({ copied: 1, skipped: 1, failed: 0, acked: 1 });
    expect((await readGcs(w, 'copy/stop/slow.bin'))!.data.equals(bytesFor(slow.key, slow.size))).toBe(true);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 2, skipped_objects: 1 });
    await ctx.db.end();
    await next.db.end();
  });

  it('runs as the CLI with --processes 2, and exits 0 on SIGTERM with every object copied', async () => {
    const ctx = await worldContext(w);
    const dir = mkdtempSync(join(tmpdir(), 'ott-cdnt-'));
    const creds = join(dir, 'creds.json');
    writeFileSync(creds, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
    const cfg = join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ ...w.config, mysql_table: 'transfer_state', credentials_file: creds, gcs_root_prefix: 'cli/' }));
    const entries = [];
    for (let i = 0; i < 12; i++) entries.push(await putObject(w, `data/cli/o-${i}.bin`, 10_000 + i));
    for (let i = 0; i < 12; i += 2) await publish(w, 'data/cli/', entries.slice(i, i + 2));
    const child = spawn(process.execPath, ['bin/ott.mjs', '--config', cfg, 'cdnTransfer', '--processes', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until('all objects copied', async () => (await listGcs(w)).filter((n) => n.startsWith('cli/')).length === 12, 60_000).catch((err) => {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}; output:\n${out.slice(-3000)}`);
    });
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 60 s after SIGTERM'), 60_000))]);
    if (code !== 0) child.kill('SIGKILL');
    expect(code, out.slice(-3000)).toBe(0);
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const workers = new Set(lines.filter((l) => l.message === 'cdnTransfer: started').map((l) => l['logging.googleapis.com/labels'].worker));
    expect(workers.size).toBe(2);
    const finished = lines.filter((l) => l.message === 'cdnTransfer finished');
    expect(finished).toHaveLength(2);
    expect(finished.reduce((a, l) => a + l.summary.copied, 0)).toBe(12);
    await ctx.db.end();
  });
});
