// Prometheus metrics on the real stack: a real publisher and a real `cdnTransfer --processes 2` (each child
// on its own port: the base + its slot), scraped over HTTP while and after they work, checked by promtool
// and parsed by parse-prometheus-text-format. The counters are judged against what GCS holds (listed with
// the GCS SDK) and what S3 holds (listed with the S3 SDK), not against the tool's own status. Also: no port
// is opened without the flag, a port in use and a bad address are clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import type { ObjectEntry } from '../../src/common/messages.js';
import type { TestCtx } from '../helpers/context.js';
import { alive } from '../helpers/processes.js';
import { addDirRow, createWorld, publish, putObject, s3, worldContext, type World } from '../worker/cdnTransferHarness.js';
import { labelValues, listeningPorts, promtoolProblems, scrape, sum, type Scrape } from './scrape.js';

const dir = mkdtempSync(join(tmpdir(), 'ott-metrics-'));
const SIZES = [1, 1000, 70_000, 250_000, 3, 512_000, 12_345];
let w: World;
let ctx: TestCtx;
let cfg: string;
let entries: ObjectEntry[];
const children: ChildProcess[] = [];

interface Cli {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function cli(args: string[]): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args, '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  return { child, output: () => out, exit: new Promise((r) => child.on('exit', (code) => r(code))) };
}

/** A port with `count` free ports from it (nothing listens there a moment ago). */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const servers: Server[] = [];
    const first = await listen(0, servers);
    let ok = first !== undefined;
    for (let i = 1; ok && i < count; i++) ok = (await listen(first! + i, servers)) !== undefined;
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok && first! + count < 65536) return first!;
  }
}
function listen(port: number, into: Server[]): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => (into.push(s), resolve((s.address() as { port: number }).port)));
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err; // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const total = (scrapes: Scrape[], name: string, match?: Record<string, string>): number => scrapes.reduce((a, s) => a + sum(s, name, match), 0);

beforeAll(async () => {
  w = await createWorld('metrics', { num_single_message: 3, heartbeat_seconds: 1 });
  ctx = await worldContext(w);
  await addDirRow(ctx, 'data/d1/');
  entries = await Promise.all(SIZES.map((n, i) => putObject(w, `data/d1/obj-${i}.bin`, n)));
  const creds = join(dir, 'creds.json');
  writeFileSync(creds, JSON.stringify({ aws_key_id: ctx.secrets.aws_key_id, aws_key_secret: ctx.secrets.aws_key_secret, mysql_config: ctx.secrets.mysql_config }));
  cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ mysql_table: 'transfer_state', credentials_file: creds, ...w.config }));
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await alive(children.map((c) => c.pid!).filter(Boolean));
  await ctx?.db.end();
});

describe('metrics of a real worker and publisher', () => {
  it('count what was copied, skipped, failed, published and acked: the GCS and S3 listings agree', async () => {
    const pubPort = await freePorts(1);
    const workerPort = await freePorts(2);
    const publisher = cli(['publishObjectsList', '--follow', '--metrics-port', String(pubPort)]);
    const worker = cli(['cdnTransfer', '--processes', '2', '--metrics-port', String(workerPort), '--metrics-bind', '127.0.0.1']);
    const workers = (): Promise<Scrape[]> => Promise.all([scrape(workerPort), scrape(workerPort + 1)]);

    // During the run: both children serve their own series; they fill as the copies land.
    const copied = await waitFor('the copies', async () => {
      const s = await workers();
      return total(s, 'ott_objects_copied_total') === SIZES.length ? s : undefined;
    });
    expect(copied.every((s) => s.families.has('ott_copy_seconds'))).toBe(true);
    const pub = await scrape(pubPort);
    const s3Keys = (await s3.send(new ListObjectsV2Command({ Bucket: w.s3Bucket, Prefix: 'data/d1/' }))).Contents ?? [];
    expect(sum(pub, 'ott_published_keys_total', { kind: 'objects' })).toBe(s3Keys.length);
    expect(sum(pub, 'ott_published_messages_total', { kind: 'objects' })).toBe(Math.ceil(s3Keys.length / 3));
    expect(sum(pub, 'ott_claims_total', { lease: 'publish' })).toBe(1);
    expect(pub.families.get('ott_published_keys_total')!.metrics[0].labels!.mode).toBe('publishObjectsList');
    expect(promtoolProblems(pub.text)).toBe('');

    // Two already there (skipped) and one S3 does not have (404: failed, not-found).
    await publish(w, 'data/d1/', [entries[0], entries[1], { ...entries[2], key: 'data/d1/missing.bin' }]);
    const after = await waitFor('the skips and the failure', async () => {
      const s = await workers();
      return total(s, 'ott_objects_skipped_total') === 2 && total(s, 'ott_objects_failed_total') === 1 && total(s, 'ott_pubsub_messages_total', { result: 'acked' }) === Math.ceil(s3Keys.length / 3) + 1 ? s : undefined;
    });

    // The judge: what GCS holds, listed with its SDK.
    const [files] = await new Storage({ projectId: 'ott-local', apiEndpoint: process.env.OTT_GCS_ENDPOINT }).bucket(w.gcsBucket).getFiles({ prefix: 'copy/' });
    expect(files.map((f) => f.name).sort()).toEqual(SIZES.map((_, i) => `copy/d1/obj-${i}.bin`).sort());
    const gcsBytes = files.reduce((a, f) => a + Number(f.metadata.size), 0);
    expect(total(after, 'ott_objects_copied_total')).toBe(files.length);
    expect(total(after, 'ott_bytes_copied_total')).toBe(gcsBytes);
    expect(total(after, 'ott_bytes_skipped_total')).toBe(SIZES[0] + SIZES[1]);
    expect(total(after, 'ott_objects_failed_total', { reason: 'not-found' })).toBe(1);
    expect(total(after, 'ott_objects_archived_total')).toBe(0);
    expect(total(after, 'ott_objects_in_flight')).toBe(0);
    expect(total(after, 'ott_pubsub_messages_in_flight')).toBe(0);
    // Every object through the copy path was timed, by outcome; every ack's latency observed.
    expect(total(after, 'ott_copy_seconds_count', { outcome: 'copied' })).toBe(files.length);
    expect(total(after, 'ott_copy_seconds_count')).toBe(files.length + 3);
    expect(total(after, 'ott_pubsub_ack_latency_seconds_count')).toBe(total(after, 'ott_pubsub_messages_total', { result: 'acked' }));
    expect(total(after, 'ott_pubsub_messages_total', { result: 'nacked' })).toBe(0);
    expect(total(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0); // the default process metrics
    for (const s of after) {
      expect(promtoolProblems(s.text)).toBe('');
      expect(new Set(s.families.get('ott_objects_copied_total')!.metrics.map((x) => x.labels!.mode))).toEqual(new Set(['cdnTransfer']));
    }
    // Bounded labels: no key, subfolder, bucket or URL anywhere in a label value.
    for (const v of [...after, pub].flatMap(labelValues)) expect(v).not.toMatch(/obj-|missing|d1|metrics-|\/\/|cloudfront/);

    worker.child.kill('SIGTERM');
    publisher.child.kill('SIGTERM');
    expect(await worker.exit, worker.output().slice(-3000)).toBe(0);
    expect(await publisher.exit, publisher.output().slice(-3000)).toBe(0);
  }, 240_000);

  it('opens no port without --metrics-port or metrics_port', async () => {
    const worker = cli(['cdnTransfer', '--processes', '1']);
    await waitFor('the worker to start', async () => (worker.output().includes('cdnTransfer: started') ? true : undefined));
    expect(listeningPorts(worker.child.pid!)).toEqual([]);
    expect(worker.output()).not.toContain('serving Prometheus metrics');
    worker.child.kill('SIGTERM');
    expect(await worker.exit).toBe(0);
  }, 120_000);

  it('a port in use fails at start with a line naming it (exit 1); a bad address is a config error (exit 78)', async () => {
    const taken: Server[] = [];
    const port = (await listen(0, taken))!;
    try {
      const busy = cli(['syncCheck', '--metrics-port', String(port)]);
      expect(await busy.exit).toBe(1);
      expect(busy.output()).toContain(`syncCheck: cannot serve metrics on 127.0.0.1:${port}: the port is in use`);
    } finally {
      await new Promise((r) => taken[0].close(r));
    }
    const bad = cli(['publishDirList', '--purpose', 'syncCheck', '--metrics-port', String(port), '--metrics-bind', 'localhost:1']);
    expect(await bad.exit).toBe(78);
    expect(bad.output()).toContain('--metrics-bind: expected an IP address');
  }, 120_000);
});
