// The full pipeline through the real CLI, one process per command as on the VMs (the demo's stage list,
// smaller data), with the failures production sees: a cdnTransfer worker SIGKILLed mid-copy, a syncCheck
// worker SIGKILLed while it holds a claim, and a CDN that answers 5xx, truncates bodies and refuses some
// objects (403) for the whole transfer. Outcomes only: bytes in GCS, rows in MySQL, the error topic, logs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool } from 'mysql2/promise';
import { Storage } from '@google-cloud/storage';
import type { StartedService } from '../stack/index.js';
import { startGcs } from '../stack/gcs/start.js';
import { startCdn } from '../stack/cdn/start.js';
import { cdnStats } from '../stack/cdn/client.js';
import { addFaults, clearFaults, listFaults, type FaultRule } from '../stack/faults.js';
import { uniqueName } from '../helpers/names.js';
import { availableCommands, type CliOptions, type OttProcess } from '../../demo/cli.js';
import { buildDataset } from '../../demo/dataset.js';
import { dirKeyOf } from '../../demo/damage.js';
import { findLeaks } from '../../demo/leaks.js';
import { pipelineStages, type PipelineState } from '../../demo/pipeline.js';
import { prepareCloud, type Prepared } from '../../demo/prepare.js';
import { demoNames, PROJECT } from '../../demo/setupCloud.js';
import { sleep, startWorker, stopAll, type RunContext } from '../../demo/stageRunner.js';
import { dirRows, ErrorTopicAudit, gcsListing, heldClaims, isEqual } from '../../demo/state.js';

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
const allLines: string[] = [];
const progress: string[] = [];
let env: Record<string, string>;
let prepared: Prepared;
let db: Pool;
let audit: ErrorTopicAudit;
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
  storage = new Storage({ projectId: PROJECT, apiEndpoint: env.OTT_GCS_ENDPOINT });
});

afterAll(async () => {
  await audit?.close();
  await db?.end();
  for (const s of services.reverse()) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

describe('the whole pipeline, through the real CLI', () => {
  it('copies every object byte-identical despite killed workers and a misbehaving CDN; errors and claims are accounted for', { timeout: 900_000 }, async () => {
    const cli: CliOptions = { env, logDir, allLines };
    const say = (text: string): void => void progress.push(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
    prepared = await prepareCloud({
      names,
      env,
      dataset,
      cli,
      // Short leases and ack deadlines: a SIGKILLed worker's claim and messages come back within seconds.
      tuning: { transfer_concurrency: 4, num_messages: 2, lease_seconds: 6, max_attempts: 4, retry_budget_ms: 30_000, grace_period_seconds: 10 },
      ackDeadlineSeconds: 10,
      say,
    });
    const cdn = env.OTT_CDN_ENDPOINT;
    const rules: FaultRule[] = [
      ...unavailable.map((k): FaultRule => ({ match: { bucket: names.s3Bucket, prefix: k }, times: 1000, action: { status: 403, message: 'Access denied (test)' } })),
      ...flaky5xx.map((k): FaultRule => ({ match: { op: 'get', bucket: names.s3Bucket, prefix: k }, times: 2, action: { status: 503 } })),
      ...truncated.map((k): FaultRule => ({ match: { op: 'get', bucket: names.s3Bucket, prefix: k }, times: 1, action: { truncate: true } })),
      ...slow.map((k): FaultRule => ({ match: { op: 'get', bucket: names.s3Bucket, prefix: k }, times: 1, action: { delayMs: 2500 } })),
    ];
    await addFaults(cdn, rules);

    db = createPool({ host: prepared.mysql.host, port: prepared.mysql.port, user: prepared.mysql.user, password: prepared.mysql.password, database: prepared.mysql.database, connectionLimit: 2 });
    const rc: RunContext = { names, env, cli, db, commands: await availableCommands(env, logDir), say, procs: [] };
    audit = new ErrorTopicAudit(names.errorSubscription);
    const st: PipelineState = { storage, audit, gcsName: (k) => k, sourceReady: prepared.sourceReady, timings: [] };
    const killed: { cdnTransfer?: { inGcs: number; inFlight: number }; syncCheck?: { dirKey: string } } = {};

    const cdnTransferStarted = async (_rc: RunContext, workers: OttProcess[]): Promise<void> => {
      // Mid-copy: some objects already in GCS, and the CDN is serving this worker right now.
      let inGcs = 0;
      let inFlight = 0;
      await until('cdnTransfer worker copying', async () => {
        inGcs = (await gcsListing(storage, names.gcsBucket, names.root)).size;
        inFlight = (await cdnStats(cdn)).inFlight;
        return inGcs >= 1 && inFlight > 0;
      }, 180_000);
      await workers[0].stop('SIGKILL');
      killed.cdnTransfer = { inGcs, inFlight };
      say(`SIGKILLed ${workers[0].label} with ${inGcs} objects in GCS and ${inFlight} CDN responses in flight`);
      startWorker(rc, 'cdnTransfer#2', 'objects', ['cdnTransfer', '--processes', '1']);
      startWorker(rc, 'cdnTransfer#3', 'objects', ['cdnTransfer', '--processes', '1']);
    };
    let cdnFaultsSeen: Awaited<ReturnType<typeof listFaults>> = [];
    const afterTransfer = async (): Promise<void> => {
      cdnFaultsSeen = await listFaults(cdn);
      // The CDN recovers (rsync must be able to fetch what cdnTransfer could not), and GCS listings turn
      // slow, so a syncCheck worker holds its claim long enough to be killed holding it.
      await clearFaults(cdn);
      await addFaults(env.OTT_GCS_ENDPOINT, { match: { op: 'list', bucket: names.gcsBucket }, times: 3, action: { delayMs: 3000 } });
    };
    const syncCheckStarted = async (_rc: RunContext, workers: OttProcess[]): Promise<void> => {
      let dirKey = '';
      await until('syncCheck worker holding a claim', async () => {
        const held = (await heldClaims(db, names.table)).filter((c) => c.mode === 'syncCheck');
        dirKey = held[0]?.dir_key ?? '';
        return held.length > 0;
      }, 180_000);
      await workers[0].stop('SIGKILL');
      killed.syncCheck = { dirKey };
      say(`SIGKILLed ${workers[0].label} holding the claim on ${dirKey}`);
      startWorker(rc, 'syncCheck#2', 'syncCheck', ['syncCheck']);
    };

    const stages = pipelineStages({
      dataset,
      cdnWorkers: 1,
      syncCheckWorkers: 1,
      rsyncWorkers: 1,
      unavailableKeys: unavailable,
      workerStageTimeoutMs: 240_000,
      deepCheck: true,
      damageSubfolders: 2,
      hooks: { cdnTransferStarted, afterTransfer, syncCheckStarted },
    });
    try {
      for (const stage of stages) {
        say(`== ${stage.name}`);
        say(`== ${stage.name}: ${await stage.run(rc, st)}`);
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprogress:\n${progress.join('\n')}`, { cause: err });
    } finally {
      await stopAll(rc);
      if (process.env.OTT_E2E_VERBOSE) console.log(progress.join('\n'));
    }

    // Every injected CDN fault was met: the 5xx and truncations all spent, each 403 served at least once.
    const hits = (action: string): number[] => cdnFaultsSeen.filter((f) => action in f.action).map((f) => f.hits);
    expect(hits('truncate')).toEqual(truncated.map(() => 1));
    expect(cdnFaultsSeen.filter((f) => 'status' in f.action && (f.action as { status: number }).status === 503).map((f) => f.hits)).toEqual(flaky5xx.map(() => 2));
    expect(cdnFaultsSeen.filter((f) => 'status' in f.action && (f.action as { status: number }).status === 403).every((f) => f.hits >= 1)).toBe(true);

    // Both kills happened where they were meant to.
    expect(killed.cdnTransfer?.inGcs).toBeLessThan(dataset.length);
    expect(killed.syncCheck?.dirKey).toBeTruthy();

    // Every source object is in GCS, byte-identical, with its metadata (the 403'd ones too: rsync fetched
    // them once the CDN recovered).
    const v = st.verify!;
    expect({ missing: v.missing, different: v.different, metadataLost: v.metadataLost }).toEqual({ missing: [], different: [], metadataLost: [] });
    expect(v.objects).toBe(dataset.length);
    expect(v.bytes).toBe(dataset.reduce((a, o) => a + o.sizeBytes, 0));

    // Every subfolder ends checked equal, the killed claim included; no claim is left stranded.
    const rows = await dirRows(db, names.table);
    expect(rows.map((r) => r.dir_key).sort()).toEqual([...new Set(dataset.map((o) => dirKeyOf(o.key, names.root)))].sort());
    expect(rows.filter((r) => !isEqual(r) || r.sync_check_error || r.sync_check_frequency < 1).map((r) => r.dir_key)).toEqual([]);
    expect(await heldClaims(db, names.table)).toEqual([]);

    // The error topic holds exactly the objects the CDN refused, each with its reason.
    expect(audit.keys().sort()).toEqual([...unavailable].sort());
    for (const e of audit.received) {
      expect(e.message).toMatchObject({ kind: 'error', mode: 'cdnTransfer' });
      expect(String(e.message.reason)).toMatch(/403/);
    }

    // No log line of any process carries a secret or a URL signature.
    expect(allLines.length).toBeGreaterThan(50);
    expect(findLeaks(allLines, { mysqlPassword: prepared.mysql.password, awsSecret: 'S3RVER', privateKeyPem: prepared.key.privateKeyPem })).toEqual([]);
  });
});
