// publishObjectsList as the real CLI in its own process: SIGKILLed mid-subfolder, its work is taken over
// after the lease; with Pub/Sub unreachable it claims nothing and exits non-zero with a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { run } from '../../src/publisher/publishObjectsList.js';
import { decodeMessage, objectsListMessageSchema } from '../../src/common/messages.js';
import { makeS3Client } from '../helpers/s3.js';
import { uniqueName } from '../helpers/names.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { collect, freshTopic, pubsubClient } from './pubsub.js';
import { seedRows } from './seed.js';
import { waitForDb } from '../helpers/wait.js';

const s3 = makeS3Client();
const ps = pubsubClient();
const bucket = uniqueName('pubcli');
const dir = mkdtempSync(join(tmpdir(), 'ott-pubcli-'));
const KEYS = Array.from({ length: 2500 }, (_, i) => `data/big/part-${String(i).padStart(5, '0')}.bin`);
/** Each S3 request through the proxy waits this long: the listing's 3 pages take seconds, not milliseconds. */
const S3_DELAY_MS = 1500;
const proxies: Server[] = [];
const sockets = new Set<Socket>();

/** A TCP proxy in front of the S3 emulator that delays every request: a slow S3, for a deterministic kill. */
async function slowS3Proxy(): Promise<string> {
  const target = new URL(process.env.OTT_S3_ENDPOINT!);
  const proxy = createServer((client) => {
    const up = connect(Number(target.port), target.hostname);
    sockets.add(client).add(up);
    client.on('data', (d) => setTimeout(() => up.write(d), S3_DELAY_MS));
    up.pipe(client);
    for (const s of [client, up]) s.on('error', () => undefined).on('close', () => (client.destroy(), up.destroy()));
  });
  proxies.push(proxy);
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const addr = proxy.address() as { port: number };
  return `http://127.0.0.1:${addr.port}`;
}

function cliConfig(ctx: TestCtx, topicId: string, extra: Record<string, unknown> = {}): string {
  const creds = join(dir, `${uniqueName('creds')}.json`);
  writeFileSync(creds, JSON.stringify({ aws_key_id: 'S3RVER', aws_key_secret: 'S3RVER', mysql_config: ctx.secrets.mysql_config }));
  const cfg = join(dir, `${uniqueName('cfg')}.json`);
  writeFileSync(cfg, JSON.stringify({ mysql_table: 'transfer_state', credentials_file: creds, s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: topicId, ...extra }));
  return cfg;
}

function startCli(cfg: string, env: Record<string, string>): { exit: Promise<number | null>; output: () => string; kill: (sig?: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'publishObjectsList', '--config', cfg], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  return { exit: new Promise((r) => child.on('exit', (code) => r(code))), output: () => out, kill: (sig = 'SIGKILL') => child.kill(sig) };
}

async function row(ctx: TestCtx, dirKey: string): Promise<RowDataPacket> {
  const [r] = await ctx.db.query<RowDataPacket[]>('SELECT * FROM transfer_state WHERE dir_key = ?', [dirKey]);
  return r[0];
}

beforeAll(async () => {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (let i = 0; i < KEYS.length; i += 25) await Promise.all(KEYS.slice(i, i + 25).map((k) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: k }))));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(proxies.map((p) => new Promise((r) => p.close(r))));
});

describe('publishObjectsList CLI', () => {
  it('a publisher SIGKILLed mid-subfolder: others skip it during the lease, then one takes over and publishes it all', async () => {
    const { topicId, subscriptionId } = await freshTopic(ps, 'pubkill');
    const ctx = await testContext('publishObjectsList', { s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: topicId, num_single_message: 5, lease_seconds: 10 });
    await seedRows(ctx.db, ['data/big/']);
    const cli = startCli(cliConfig(ctx, topicId, { num_single_message: 5, lease_seconds: 10 }), { OTT_S3_ENDPOINT: await slowS3Proxy() });

    // Kill as soon as the first page's messages arrive: two more pages are still to be listed.
    const first = await collect(ps, subscriptionId, { quietMs: 300, minCount: 20, maxWaitMs: 60_000 });
    cli.kill();
    expect(await cli.exit).toBe(null); // killed, not exited
    const killed = await row(ctx, 'data/big/');
    expect(killed).toMatchObject({ cdn_transfer_published: 0, initial_transfer: 1 });
    expect(killed.cdn_publish_owner).toMatch(/-\d+-[0-9a-f]{6}$/);
    expect(first.length).toBeLessThan(KEYS.length / 5);

    // While the dead publisher's lease lasts, another publisher leaves the row alone.
    expect(await run(ctx)).toMatchObject({ subfolders_published: 0, messages: 0 });
    await waitForDb(ctx.db, "the dead publisher's lease to end", "SELECT cdn_publish_lease_until < UTC_TIMESTAMP() AS ok FROM transfer_state WHERE dir_key = 'data/big/'");
    const taken = await run(ctx);
    expect(taken).toMatchObject({ subfolders_published: 1, subfolders_failed: 0, objects: KEYS.length });

    const rest = await collect(ps, subscriptionId, { minCount: KEYS.length / 5 });
    const keys = [...first, ...rest].flatMap((m) => {
      const d = decodeMessage(objectsListMessageSchema, m.data);
      if (!d.ok) throw new Error(d.reason);
      return d.message.objects.map((o) => o.key);
    });
    expect(new Set(keys)).toEqual(new Set(KEYS)); // every key at least once (some twice: at-least-once)
    const after = await row(ctx, 'data/big/');
    expect(after).toMatchObject({ cdn_transfer_published: 1, initial_transfer: 0, published_objects: KEYS.length, cdn_publish_owner: ctx.workerId, cdn_publish_error: null });
    await ctx.db.end();
  });

  it('SIGTERM mid-subfolder: the subfolder is given back at once, unflagged, for the next publisher', async () => {
    const { topicId, subscriptionId } = await freshTopic(ps, 'pubterm');
    const ctx = await testContext('publishObjectsList', { s3_bucket: bucket, s3_root_prefix: 'data/', pubsub_topic_id: topicId, num_single_message: 5 });
    await seedRows(ctx.db, ['data/big/']);
    const cli = startCli(cliConfig(ctx, topicId, { num_single_message: 5 }), { OTT_S3_ENDPOINT: await slowS3Proxy() });
    await collect(ps, subscriptionId, { quietMs: 300, minCount: 20, maxWaitMs: 60_000 });
    cli.kill('SIGTERM');
    expect(await cli.exit).toBe(0);
    expect(await row(ctx, 'data/big/')).toMatchObject({ cdn_transfer_published: 0, initial_transfer: 1, cdn_publish_owner: null, cdn_publish_lease_until: null, cdn_publish_error: null });
    // No lease to wait for: the next publisher takes it at once.
    expect(await run(ctx)).toMatchObject({ subfolders_published: 1, objects: KEYS.length });
    await ctx.db.end();
  });

  it('Pub/Sub unreachable: claims and flags nothing, says so, exits non-zero', async () => {
    const { topicId } = await freshTopic(ps, 'pubdown');
    const ctx = await testContext('publishObjectsList', {});
    await seedRows(ctx.db, ['data/big/']);
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as { port: number }).port;
    await new Promise((r) => dead.close(r)); // a port nothing listens on
    const cli = startCli(cliConfig(ctx, topicId, { max_attempts: 2, retry_budget_ms: 3000 }), { PUBSUB_EMULATOR_HOST: `127.0.0.1:${port}` });
    expect(await cli.exit).toBe(1);
    expect(cli.output()).toMatch(/publishObjectsList failed: publishObjectsList: cannot reach Pub\/Sub topic projects\/ott-local\/topics\/pubdown-\S+: .*nothing was claimed/);
    expect(await row(ctx, 'data/big/')).toMatchObject({ cdn_transfer_published: 0, cdn_publish_owner: null, cdn_publish_lease_until: null });
    await ctx.db.end();
  });
});
