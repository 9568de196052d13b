// Bad-input catalogue (README.md in this folder): the CDN or GCS unreachable from the start of a
// cdnTransfer run, and signed URLs outliving their policy. A dead endpoint costs max_attempts tries per key,
// then every key is named on the error topic with the reason and counted in its row: the message is
// acked with nothing lost and the worker exits on idle, never hangs.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/worker/cdnTransfer.js';
import { addTrustedKey } from '../stack/cdn/client.js';
import { rsaKeyPair } from '../stack/cdn/testing.js';
import { addDirRow, bytesFor, cdnEndpoint, createWorld, dirCounters, drain, listGcs, publish, putObject, readGcs, worldContext, type World } from '../worker/cdnTransferHarness.js';
import type { ObjectEntry } from '../../src/common/messages.js';

const root = join(import.meta.dirname, '../..');
let w: World;
let deadPort: number;

beforeAll(async () => {
  w = await createWorld('badsvc', { max_attempts: 2, retry_budget_ms: 1000 });
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  deadPort = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
});

type ErrorMsg = { key: string; reason: string; attempts: number; dir_key: string };

describe('bad-input catalogue: dead CDN or GCS, expiring signed URLs', () => {
  it('X1 CDN unreachable: every key reaches the error topic with the reason after max_attempts; acked, counted, nothing in GCS', async () => {
    const ctx = await worldContext(w, { cloudfront_url_host_pre: `http://127.0.0.1:${deadPort}/${w.s3Bucket}/`, gcs_root_prefix: 'x1/' });
    const dir = 'data/x1/';
    await addDirRow(ctx, dir);
    const objs = [await putObject(w, `${dir}a.bin`, 100), await putObject(w, `${dir}b.bin`, 200)];
    await publish(w, dir, objs);
    const s = await run(ctx, { exitWhenIdleMs: 1500 });
    expect(s).toMatchObject({ copied: 0, failed: 2, acked: 1, nacked: 0 });
    const errors = (await drain(w.errorSub, 2)).map((m) => JSON.parse(m.data.toString()) as ErrorMsg);
    expect(errors.map((e) => e.key).sort()).toEqual(objs.map((o) => o.key));
    for (const e of errors) expect(e).toMatchObject({ attempts: 2, dir_key: dir, reason: expect.stringMatching(/ECONNREFUSED/) });
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 0, failed_objects: 2 });
    expect((await listGcs(w)).filter((n) => n.startsWith('x1/'))).toEqual([]);
    await ctx.db.end();
  });

  it('X2 GCS unreachable (the CLI, as a VM runs it): every key reaches the error topic with the reason; exit 0 on idle', async () => {
    const ctx = await worldContext(w, { gcs_root_prefix: 'x2/' });
    const dir = 'data/x2/';
    await addDirRow(ctx, dir);
    const objs = [await putObject(w, `${dir}a.bin`, 300), await putObject(w, `${dir}b.bin`, 2_000_000)];
    await publish(w, dir, objs);
    const tmp = mkdtempSync(join(tmpdir(), 'ott-x2-'));
    writeFileSync(join(tmp, 'creds.json'), JSON.stringify({ mysql_config: ctx.secrets.mysql_config }));
    writeFileSync(join(tmp, 'cfg.json'), JSON.stringify({ ...w.config, gcs_root_prefix: 'x2/', mysql_table: 'transfer_state', credentials_file: join(tmp, 'creds.json') }));
    const dead = `http://127.0.0.1:${deadPort}`;
    const child = spawn(process.execPath, ['bin/ott.mjs', '--config', join(tmp, 'cfg.json'), 'cdnTransfer', '--processes', '1', '--idle-exit-seconds', '2'], {
      cwd: root,
      env: { ...process.env, OTT_GCS_ENDPOINT: dead, STORAGE_EMULATOR_HOST: dead },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code, out).toBe(0);
    const errors = (await drain(w.errorSub, 2)).map((m) => JSON.parse(m.data.toString()) as ErrorMsg);
    expect(errors.map((e) => e.key).sort()).toEqual(objs.map((o) => o.key));
    for (const e of errors) expect(e).toMatchObject({ attempts: 2, reason: expect.stringMatching(/ECONNREFUSED|fetch failed|connect/) });
    expect(out).toMatch(/"summary":\{"messages":1,"acked":1,"nacked":0,.*"failed":2/);
    expect(await dirCounters(ctx, dir)).toMatchObject({ copied_objects: 0, failed_objects: 2 });
    await ctx.db.end();
  });

  it('X4 a 1,024-byte key whose GCS name grows past 1,024 bytes (gcs_root_prefix longer than s3_root_prefix): error topic with GCS\'s reason, not retried', async () => {
    const ctx = await worldContext(w, { gcs_root_prefix: 'copy-longer/' });
    const dir = 'data/x4/';
    await addDirRow(ctx, dir);
    const key = dir + 'k'.repeat(1024 - Buffer.byteLength(dir));
    const fits = await putObject(w, `${dir}fits.bin`, 10);
    const long = await putObject(w, key, 10);
    await publish(w, dir, [fits, long]);
    const s = await run(ctx, { exitWhenIdleMs: 1500 });
    expect(s).toMatchObject({ copied: 1, failed: 1, acked: 1, nacked: 0 });
    const [e] = (await drain(w.errorSub, 1)).map((m) => JSON.parse(m.data.toString()) as ErrorMsg);
    expect(e).toMatchObject({ key, attempts: 1, reason: expect.stringMatching(/maximum object length is 1024 characters, but got a name with 1031 characters/) });
    expect(await readGcs(w, 'copy-longer/x4/fits.bin')).toBeDefined();
    await ctx.db.end();
  });

  it('X3 signed URLs that expire during the run (2 s policies): re-signed in time, a key published after the first policy ended still copies', async () => {
    const key = rsaKeyPair();
    await addTrustedKey(cdnEndpoint(), { bucket: w.s3Bucket, keyPairId: 'KBADINPUT', publicKeyPem: key.publicKeyPem });
    const ctx = await worldContext(w, { url_signer_key_pair_id: 'KBADINPUT', url_signer_private_key_file: '/dev/null', signed_url_expire_seconds: 2, gcs_root_prefix: 'x3/' });
    ctx.secrets = { ...ctx.secrets, url_signer_private_key: key.privateKeyPem };
    const dir = 'data/x3/';
    await addDirRow(ctx, dir);
    const first: ObjectEntry = await putObject(w, `${dir}first.bin`, 1000);
    const late: ObjectEntry = await putObject(w, `${dir}late.bin`, 2000);
    await publish(w, dir, [first]);
    const publishLate = new Promise<void>((resolve) => setTimeout(() => void publish(w, dir, [late]).then(resolve), 3500));
    const s = await run(ctx, { exitWhenIdleMs: 5000 });
    await publishLate;
    expect(s).toMatchObject({ copied: 2, failed: 0, acked: 2 });
    for (const o of [first, late]) expect((await readGcs(w, `x3/${o.key.slice('data/'.length)}`))!.data.equals(bytesFor(o.key, o.size)), o.key).toBe(true);
    await ctx.db.end();
  });
});
