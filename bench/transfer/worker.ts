// Ours: the real CLI, `ott cdnTransfer --processes N`, as a child process with a config file and the
// runtime settings of the VMs' unit (NODE_OPTIONS, MALLOC_ARENA_MAX), exactly as on a VM. Objects arrive as object-list messages (50 keys each, as publishObjectsList packs them),
// published before the worker starts: a backlog, as in a migration, where publishObjectsList runs ahead of
// the workers on other VMs (publishing here would put the bench's Pub/Sub client and the emulator's intake
// on the 2 cores the copy runs on; the emulator's delivery, leases and acks stay in the clock). The clock
// starts at the time on the worker's `cdnTransfer: started` line (logged once its Pub/Sub client is built and its stub made, before its stream opens) and stops
// when the GCS emulator's /__stats counts every object; then the worker gets SIGTERM (the caller then counts
// the bucket's objects and bytes in GCS, as for every side). Peak RSS is the
// child's VmHWM, sampled from /proc (with --processes 1 the child is the worker itself).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage, type ObjectEntry, type ObjectsListMessage } from '../../src/common/messages.js';
import { createDb } from '../../src/common/db.js';
import { gcsStats, KEY_PAIR_ID, TABLE, type World } from './fixtures.js';
import { cpuWindow, treeCpuSampler } from './cpu.js';
import { sideEnv } from './vmSettings.js';
import { compileInto } from './child.js';
import type { SecondHalf } from './bare.js';

const KEYS_PER_MESSAGE = 50;

export interface WorkerRun {
  ms: number;
  peakRssMiB: number;
  /** VmHWM once the worker had subscribed, before any object: what the process costs idle. */
  startRssMiB: number;
  /** CPU of the worker's process tree from its started line until every object was in GCS. */
  cpuMs: number;
  /** From the started line to the first object in GCS (the emulator answers as it arrives): the stream opening. */
  firstObject?: { ms: number; cpuMs: number };
  /** From the moment half the objects were in GCS (the emulator's answer) to the end. */
  secondHalf?: SecondHalf;
  /** The machine's busy CPU, and the Pub/Sub emulator's and MariaDB's, in the same window. */
  machineCpuMs: number;
  servicesCpuMs: { pubsub: number; mysql: number };
  summary?: Record<string, number>;
}

export interface WorkerOptions {
  /** The `ott` entry point: bin/ott.mjs (TypeScript through tsx) or a built main.js. */
  entry: string;
  name: string;
  bucket: string;
  processes: number;
  concurrency: number;
  /** Fail the run if it takes longer (a stuck worker must not hang the benchmark). */
  timeoutMs: number;
  /**
   * Config fields added to (or overriding) the harness's own, verbatim: the tool's settings under test,
   * e.g. its parallel-parts settings once it has them (`--ott-config` of run.bench.ts).
   */
  extraConfig?: Record<string, unknown>;
}

function vmHwmKiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // exited
  }
}

/**
 * Compiles src/ with tsconfig.build.json into `dir`/dist (never the checkout's dist/, which bin/ott.mjs
 * would prefer over the sources for everyone else), so the worker runs as plain JavaScript as on the VMs
 * rather than through tsx, whose on-the-fly compilation adds to RSS and CPU. Returns the entry point.
 */
export async function buildOtt(dir: string): Promise<string> {
  const entry = join(dir, 'dist', 'main.js');
  await compileInto(dir, ['-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')], [entry]);
  return entry;
}

/** The dir_key of an object `<size>/<name>`: its size folder. */
const dirKeyOf = (key: string): string => `${key.slice(0, key.indexOf('/') + 1)}`;

/** Seeds the state rows of the objects' subfolders and writes the worker's config file; returns its path. */
export async function prepare(w: World, o: Pick<WorkerOptions, 'name' | 'bucket' | 'concurrency' | 'extraConfig'>, objects: ObjectEntry[], topicName: string): Promise<string> {
  const dirKeys = [...new Set(objects.map((e) => dirKeyOf(e.key)))];
  const db = createDb(w.mysql);
  for (const k of dirKeys) await db.query(`INSERT IGNORE INTO ${TABLE} (dir_key, dir_key_sha) VALUES (?, UNHEX(SHA2(?, 256)))`, [k, k]);
  await db.end();
  const creds = join(w.dir, 'creds.json');
  writeFileSync(creds, JSON.stringify({ mysql_config: w.mysql }));
  const cfg = join(w.dir, `cfg-${o.name}.json`);
  const config = {
    mysql_table: TABLE,
    credentials_file: creds,
    gcs_bucket: o.bucket,
    cloudfront_url_host_pre: `${w.cdn}/__synthetic/`,
    url_signer_key_pair_id: KEY_PAIR_ID,
    url_signer_private_key_file: w.privateKeyFile,
    pubsub_topic_id: topicName,
    pubsub_subscription_id: `${topicName}-sub`,
    transfer_concurrency: o.concurrency,
    grace_period_seconds: 10,
    ...o.extraConfig,
  };
  writeFileSync(cfg, JSON.stringify(config));
  return cfg;
}

/** What the worker's JSON log lines tell: how many processes subscribed, objects failed, its summary. */
interface LogWatch {
  started: number;
  /** Epoch ms on the first started line. */
  startedAt?: number;
  failures: number;
  summary?: Record<string, number>;
  tail: string;
}

function watchLog(child: ReturnType<typeof spawn>): LogWatch {
  const s: LogWatch = { started: 0, failures: 0, tail: '' };
  let partial = '';
  const onLine = (line: string): void => {
    s.tail = (s.tail + line + '\n').slice(-4000);
    if (line.includes('"cdnTransfer: started"')) {
      s.started++;
      s.startedAt ??= Date.parse((JSON.parse(line) as { time: string }).time);
    }
    if (line.includes('"cdnTransfer: object failed"')) s.failures++;
    if (line.includes('"cdnTransfer finished"')) s.summary = (JSON.parse(line) as { summary: Record<string, number> }).summary;
  };
  child.stdout!.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  child.stderr!.on('data', (b: Buffer) => (s.tail = (s.tail + b.toString()).slice(-4000)));
  return s;
}

async function publishAll(w: World, topicName: string, objects: ObjectEntry[]): Promise<void> {
  const publisher = w.pubsub.topic(topicName, { batching: { maxMessages: 100, maxMilliseconds: 5 } });
  const publishes: Promise<string>[] = [];
  for (let i = 0; i < objects.length; i += KEYS_PER_MESSAGE) {
    const batch = objects.slice(i, i + KEYS_PER_MESSAGE);
    const m: ObjectsListMessage = { v: 1, kind: 'objects', dir_key: dirKeyOf(batch[0].key), objects: batch };
    publishes.push(publisher.publishMessage({ data: encodeMessage(m) }));
  }
  await Promise.all(publishes);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runWorker(w: World, o: WorkerOptions, objects: ObjectEntry[]): Promise<WorkerRun> {
  const topicName = `bench-${o.name}`;
  const [topic] = await w.pubsub.createTopic(topicName);
  await topic.createSubscription(`${topicName}-sub`, { ackDeadlineSeconds: 60 });
  const cfg = await prepare(w, o, objects, topicName);
  await publishAll(w, topicName, objects);
  const before = (await gcsStats(w)).objects;
  // BENCH_WORKER_NODE_ARGS: node flags for the worker alone, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, o.entry, '--config', cfg, 'cdnTransfer', '--processes', String(o.processes)], {
    env: sideEnv({ ...process.env, ...w.env, OTT_LOG_LEVEL: 'INFO' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = watchLog(child);
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => ((exited = true), resolve(c))));
  let peakKiB = 0;
  const sampler = setInterval(() => (peakKiB = Math.max(peakKiB, vmHwmKiB(child.pid!))), 100);
  const cpu = treeCpuSampler(child.pid!);
  const deadline = Date.now() + o.timeoutMs;
  try {
    while (log.started < o.processes) {
      if (exited || Date.now() > deadline) throw new Error(`worker ${o.name} did not start:\n${log.tail}`);
      await sleep(50);
    }
    // A few ms after the started line (the pipe): the worker may have begun, its stream opening meanwhile.
    cpu.sample();
    const cpuBefore = cpu.total();
    const window = cpuWindow({ pubsub: w.pids.pubsub, mysql: w.pids.mysql });
    const startRssMiB = Math.round(vmHwmKiB(child.pid!) / 1024);
    const t = log.startedAt!;
    let firstObject: WorkerRun['firstObject'];
    let half: { at: number; cpuMs: number; objects: number } | undefined;
    for (;;) {
      // The emulator answers when the next milestone (first object, half, all) is reached, or after a
      // second to check on the worker: no polling CPU on the cores the run is measured on.
      const next = before + (!firstObject ? 1 : !half ? Math.ceil(objects.length / 2) : objects.length);
      const done = (await gcsStats(w, { objects: next, ms: 1000 })).objects - before;
      if (done > 0 && !firstObject) {
        cpu.sample();
        firstObject = { ms: Date.now() - t, cpuMs: cpu.total() - cpuBefore };
      }
      if (done >= objects.length / 2 && !half && done < objects.length) {
        cpu.sample();
        half = { at: Date.now(), cpuMs: cpu.total(), objects: objects.length - done };
      }
      if (done >= objects.length) break;
      if (log.failures > 0) throw new Error(`worker ${o.name}: ${log.failures} objects failed:\n${log.tail}`);
      if (exited || Date.now() > deadline) throw new Error(`worker ${o.name}: ${done} of ${objects.length} objects after ${Math.round(Date.now() - t)} ms:\n${log.tail}`);
    }
    const end = Date.now();
    const ms = end - t;
    cpu.sample();
    const cpuMs = cpu.total() - cpuBefore;
    const secondHalf = half && { objects: half.objects, ms: end - half.at, cpuMs: cpu.total() - half.cpuMs };
    const { machine, pubsub, mysql } = window();
    cpu.stop();
    peakKiB = Math.max(peakKiB, vmHwmKiB(child.pid!));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exit;
    clearTimeout(killer);
    if (code !== 0) throw new Error(`worker ${o.name} exited ${code} after SIGTERM:\n${log.tail}`);
    return { ms, peakRssMiB: Math.round(peakKiB / 1024), startRssMiB, firstObject, secondHalf, cpuMs, machineCpuMs: machine, servicesCpuMs: { pubsub, mysql }, summary: log.summary };
  } finally {
    clearInterval(sampler);
    cpu.stop();
    if (!exited) {
      child.kill('SIGKILL');
      await exit;
    }
    await w.pubsub.subscription(`${topicName}-sub`).delete().catch(() => undefined);
    await topic.delete().catch(() => undefined);
  }
}
