// The full pipeline through the real CLI, one process per command as on the VMs (the demo's pipeline, run
// through its public entry demo/index.ts, smaller data), with the failures production sees: a cdnTransfer
// worker SIGKILLed mid-copy, a syncCheck worker SIGKILLed while it holds a claim, and a CDN that answers 5xx,
// truncates bodies and refuses some objects (403) for the whole transfer. Judged from outside: the bytes of
// both buckets downloaded and compared (test/helpers/compareCopies.ts), rows in MySQL, the error topic, logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { Storage } from '@google-cloud/storage';
import type { StartedService } from '../stack/index.js';
import { startGcs } from '../stack/gcs/start.js';
import { startCdn } from '../stack/cdn/start.js';
import { cdnStats } from '../stack/cdn/client.js';
import { addFaults, clearFaults, listFaults, type FaultRule } from '../stack/faults.js';
import { uniqueName } from '../helpers/names.js';
import { waitFor } from '../helpers/wait.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { buildDataset, demoNames, runPipeline, type PipelineControl, type PipelineRun } from '../../demo/index.js';

const MiB = 1024 * 1024;
const names = demoNames(uniqueName('e2e'));
const dataset = buildDataset({ root: names.root, subfolders: 8, objectsPerSubfolder: 3, bigObjectsBytes: [6 * MiB] });
const small = dataset.filter((o) => o.sizeBytes > 0 && !o.multipart);
const inSet = (n: number): typeof small => small.filter((o) => o.key.startsWith(`${names.root}set-${String(n).padStart(4, '0')}/`));

// Permanently unavailable at the CDN while cdnTransfer runs: must end on the error topic, with reasons.
const unavailable = [`${names.root}odd keys/plus+sign.txt`, inSet(1)[0].key];
// Transient: retried by the worker, never reported.
const flaky5xx = [`${names.root}odd keys/space file.txt`, `${names.root}Case/x.txt`];
const truncated = [`${names.root}big/multipart-small-parts.bin`, `${names.root}only-subfolders/a/x.bin`];
// Slow answers keep copies in flight, so the SIGKILL lands mid-copy.
const slow = inSet(2).map((o) => o.key);

const dir = mkdtempSync(join(tmpdir(), 'ott-e2e-'));
const logDir = join(dir, 'logs');
mkdirSync(logDir);
const services: StartedService[] = [];
const progress: string[] = [];
let env: Record<string, string>;
let storage: Storage;

beforeAll(async () => {
  // Our own GCS emulator and CDN fixture: their fault tables and trusted keys are this file's alone.
  const ctx = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    return { dir: d, logDir, env: { OTT_S3_ENDPOINT: process.env.OTT_S3_ENDPOINT! } };
  };
  services.push(await startGcs(ctx('gcs')));
  services.push(await startCdn(ctx('cdn')));
  env = { ...(process.env as Record<string, string>), ...services[0].env, ...services[1].env, METADATA_SERVER_DETECTION: 'none' };
  Object.assign(process.env, services[0].env, services[1].env);
  storage = new Storage({ projectId: 'ott-local', apiEndpoint: env.OTT_GCS_ENDPOINT });
});

let passed = false;
afterAll(async () => {
  for (const s of services.reverse()) await s.stop();
  // A failed run keeps its processes' logs (the failure names them); a passing one leaves nothing behind.
  if (passed) rmSync(dir, { recursive: true, force: true });
});

/** Subfolders holding a live syncCheck claim, read from the state table as an operator would. */
async function syncCheckClaims(c: Pick<PipelineControl, 'db' | 'names'>): Promise<string[]> {
  const [rows] = await c.db.query<RowDataPacket[]>(`SELECT dir_key FROM \`${c.names.table}\` WHERE sync_check_in_progress ORDER BY dir_key`);
  return rows.map((r) => r.dir_key as string);
}

describe('the whole pipeline, through the real CLI', () => {
  it('copies every object byte-identical despite killed workers and a misbehaving CDN; errors and claims are accounted for', { timeout: 900_000 }, async () => {
    const say = (text: string): void => void progress.push(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
    const cdn = env.OTT_CDN_ENDPOINT;
    // Programmed before the run: the rules wait for the bucket's first requests.
    const rules: FaultRule[] = [
      ...unavailable.map((k): FaultRule => ({ match: { bucket: names.s3Bucket, prefix: k }, times: 1000, action: { status: 403, message: 'Access denied (test)' } })),
      ...flaky5xx.map((k): FaultRule => ({ match: { op: 'get', bucket: names.s3Bucket, prefix: k }, times: 2, action: { status: 503 } })),
      ...truncated.map((k): FaultRule => ({ match: { op: 'get', bucket: names.s3Bucket, prefix: k }, times: 1, action: { truncate: true } })),
      ...slow.map((k): FaultRule => ({ match: { op: 'get', bucket: names.s3Bucket, prefix: k }, times: 1, action: { delayMs: 2500 } })),
    ];
    await addFaults(cdn, rules);
    const killed: { cdnTransfer?: { inGcs: number; inFlight: number }; syncCheck?: { dirKey: string } } = {};

    const cdnTransferStarted = async (c: PipelineControl): Promise<void> => {
      // Mid-copy: some objects already in GCS, and the CDN is serving this worker right now.
      let inGcs = 0;
      let inFlight = 0;
      await waitFor('cdnTransfer worker copying', async () => {
        inGcs = (await storage.bucket(names.gcsBucket).getFiles({ prefix: names.root, autoPaginate: true }))[0].length;
        inFlight = (await cdnStats(cdn)).inFlight;
        return inGcs >= 1 && inFlight > 0;
      }, 180_000);
      await c.workers[0].stop('SIGKILL');
      killed.cdnTransfer = { inGcs, inFlight };
      say(`SIGKILLed ${c.workers[0].label} with ${inGcs} objects in GCS and ${inFlight} CDN responses in flight`);
      c.startWorker('cdnTransfer#2', 'objects', ['cdnTransfer', '--processes', '1']);
      c.startWorker('cdnTransfer#3', 'objects', ['cdnTransfer', '--processes', '1']);
    };
    let cdnFaultsSeen: Awaited<ReturnType<typeof listFaults>> = [];
    const afterTransfer = async (): Promise<void> => {
      cdnFaultsSeen = await listFaults(cdn, names.s3Bucket);
      // The CDN recovers (rsync must be able to fetch what cdnTransfer could not), and GCS listings turn
      // slow, so a syncCheck worker holds its claim long enough to be killed holding it.
      await clearFaults(cdn, names.s3Bucket);
      await addFaults(env.OTT_GCS_ENDPOINT, { match: { op: 'list', bucket: names.gcsBucket }, times: 3, action: { delayMs: 3000 } });
    };
    const syncCheckStarted = async (c: PipelineControl): Promise<void> => {
      const [dirKey] = await waitFor('syncCheck worker holding a claim', async () => {
        const held = await syncCheckClaims(c);
        return held.length > 0 && held;
      }, 180_000);
      await c.workers[0].stop('SIGKILL');
      killed.syncCheck = { dirKey };
      say(`SIGKILLed ${c.workers[0].label} holding the claim on ${dirKey}`);
      c.startWorker('syncCheck#2', 'syncCheck', ['syncCheck']);
    };

    let run: PipelineRun;
    try {
      run = await runPipeline({
        names,
        env,
        dataset,
        logDir,
        // Short leases and ack deadlines: a SIGKILLed worker's claim and messages come back within seconds.
        tuning: { transfer_concurrency: 4, num_messages: 2, lease_seconds: 6, max_attempts: 4, retry_budget_ms: 30_000, grace_period_seconds: 10 },
        ackDeadlineSeconds: 10,
        // The killed worker's messages wait for the replacements, which are new processes: on a loaded 2-core
        // CI machine a CLI start took 80-110 s (Node 24 step), longer than 10 deliveries x the 10 s deadline,
        // so the emulator dead-lettered all of them before a replacement subscribed and the stage copied
        // nothing more. 30 x 10 s outlasts the stage's own 240 s timeout: the stage judges, not the policy.
        maxDeliveryAttempts: 30,
        workers: { cdnTransfer: 1, syncCheck: 1, rsync: 1 },
        workerStageTimeoutMs: 240_000,
        deepCheck: true,
        damageSubfolders: 2,
        unavailableKeys: unavailable,
        hooks: { cdnTransferStarted, afterTransfer, syncCheckStarted },
        say,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprogress:\n${progress.join('\n')}`, { cause: err });
    } finally {
      if (process.env.OTT_E2E_VERBOSE) console.log(progress.join('\n'));
    }

    // Every injected fault was met: the 5xx, truncations and delays all spent, each 403 served at least
    // once, and the slow GCS listings (which kept the killed syncCheck worker mid-claim) all served.
    const hits = (action: string): number[] => cdnFaultsSeen.filter((f) => action in f.action).map((f) => f.hits);
    expect(hits('truncate')).toEqual(truncated.map(() => 1));
    expect(hits('delayMs')).toEqual(slow.map(() => 1));
    expect(cdnFaultsSeen.filter((f) => 'status' in f.action && (f.action as { status: number }).status === 503).map((f) => f.hits)).toEqual(flaky5xx.map(() => 2));
    expect(cdnFaultsSeen.filter((f) => 'status' in f.action && (f.action as { status: number }).status === 403).every((f) => f.hits >= 1)).toBe(true);
    expect((await listFaults(env.OTT_GCS_ENDPOINT, names.gcsBucket)).map((f) => f.hits)).toEqual([3]);

    // Both kills happened where they were meant to.
    expect(killed.cdnTransfer?.inGcs).toBeLessThan(dataset.length);
    expect(killed.syncCheck?.dirKey).toBeTruthy();

    // Every source object is in GCS, byte-identical, with its metadata (the 403'd ones too: rsync fetched
    // them once the CDN recovered), and nothing else is: judged by downloading both sides, not by the demo.
    const v = await compareCopies({ s3Bucket: names.s3Bucket, s3Prefix: names.root, gcsBucket: names.gcsBucket, gcsPrefix: names.root, metadata: true, storage });
    expect({ missing: v.missing, different: v.different, metadataLost: v.metadataLost, extra: v.extra }).toEqual({ missing: [], different: [], metadataLost: [], extra: [] });
    expect(v.objects).toBe(dataset.length);
    expect(v.bytes).toBe(dataset.reduce((a, o) => a + o.sizeBytes, 0));

    // Every subfolder ends checked equal, the killed claim included; no claim is left stranded.
    const subfolders = new Set(dataset.map((o) => `${names.root}${o.key.slice(names.root.length).split('/')[0]}/`));
    expect(run.rows.map((r) => r.dir_key).sort()).toEqual([...subfolders].sort());
    const unequal = (r: PipelineRun['rows'][number]): boolean => r.s3_size !== r.gcs_size || r.s3_objects !== r.gcs_objects || !!r.deep_different || !!r.deep_missing;
    expect(run.rows.filter((r) => unequal(r) || r.sync_check_error || r.sync_check_frequency < 1).map((r) => r.dir_key)).toEqual([]);
    expect(run.claimsLeft).toEqual([]);

    // The error topic holds exactly the objects the CDN refused, each with its reason.
    expect([...new Set(run.errors.map((e) => e.message.key))].sort()).toEqual([...unavailable].sort());
    for (const e of run.errors) {
      expect(e.message).toMatchObject({ kind: 'error', mode: 'cdnTransfer' });
      expect(String(e.message.reason)).toMatch(/403/);
    }

    // No log line of any process carries a secret or a URL signature.
    expect(run.lines.length).toBeGreaterThan(50);
    expect(run.leaks).toEqual([]);
    passed = true;
  });
});
