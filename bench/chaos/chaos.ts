// The chaos run (issue 14, "a chaos run anyone can start"): a migration through the real CLI on a local
// cloud that misbehaves, judged by a verifier that shares no code with src/.
//   1. Set-up as an operator does it (demo/prepare.ts): database, secrets, queues, signing key, configs;
//      the source seeded with ChaosObject shapes; archived objects put in their tiers.
//   2. Faults programmed on the CDN (5xx, truncated, corrupted, reset bodies) and GCS (503, resets,
//      corrupted stores), spread over the run.
//   3. migrate, dump, then publishObjectsList with two cdnTransfer workers while events.ts strikes: two
//      workers SIGKILLed mid-object, MariaDB stopped and restarted, S3 changed in finished subfolders.
//   4. Rounds of round.ts's commands until `ott status` says done (at most maxRounds).
//   5. The verdict: verify.ts (MD5 of every in-scope object on both sides + rclone check) finds 0 missing,
//      0 different, 0 extra, the two agree, status reports the archived objects, and status's totals are
//      the verifier's. Every failure is named with its keys and what is known about them (diagnose.ts).
import { createPool } from 'mysql2/promise';
import { Storage } from '@google-cloud/storage';
import { demoNames, ErrorTopicAudit, findLeaks, prepareCloud, type CliOptions } from '../../demo/index.js';
import { makeS3Client } from '../../test/stack/index.js';
import { setAccessTier } from '../../test/stack/s3Testing.js';
import { buildChaosDataset, isArchived, MiB } from './dataset.js';
import { chaosEvents, type EventLog } from './events.js';
import { countFaults, faultPlan, programFaults, type FaultCount } from './faults.js';
import { diagnose } from './diagnose.js';
import { failedExit, once, workerPool, type ChaosCtx, type Exit } from './procs.js';
import { ROUND, runRound } from './round.js';
import { archivedInStatus, notDoneReason, readStatus, statusLine, type StatusJson } from './status.js';
import { verify, type Verdict } from './verify.js';

export interface ChaosOptions {
  objects: number;
  /** The local cloud's env: endpoints and OTT_STACK_CONTROL of a stack whose MariaDB this run may stop. */
  env: Record<string, string>;
  /** Resource-name prefix (lowercase, digits, dashes). */
  prefix: string;
  logDir: string;
  maxRounds: number;
  /** cdnTransfer, syncCheck and rsync workers per stage. */
  workers?: number;
  outageSeconds?: number;
  /** Pub/Sub ack deadline: how soon a SIGKILLed worker's messages come back (default 10 s). */
  ackDeadlineSeconds?: number;
  /** Idle time after which a round's worker exits (default 6 s; the chaos phase waits the ack deadline + 10 s). */
  roundIdleExitSeconds?: number;
  say: (text: string) => void;
  echo?: (label: string, text: string) => void;
}

export interface ChaosReport {
  objects: number;
  bytes: number;
  archived: number;
  faults: FaultCount;
  events: EventLog;
  minutes: number;
  rounds: number;
  converged: boolean;
  lastStatus?: StatusJson;
  verdict?: Verdict;
  /** Every reason the run failed; empty when it passed. */
  problems: string[];
  /** Per bad key: what is known about it. */
  diagnosis: string[];
  /** Processes that exited with a failure on their own (not killed by the run). */
  failedExits: Exit[];
  /** Messages on the error topic (objects or subfolders the tool gave up on, with reasons): count and a sample. */
  errorTopic: { messages: number; sample: string[] };
  pass: boolean;
  /** The one closing line: objects, faults injected, minutes, verdict. */
  line: string;
}

const TUNING = { num_messages: 4, transfer_concurrency: 8, lease_seconds: 15, max_attempts: 5, retry_budget_ms: 60_000, grace_period_seconds: 10, delete_unmatched: true };

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const { env, say } = o;
  const names = demoNames(o.prefix);
  const dataset = buildChaosDataset(o.objects, names.root);
  const lines: string[] = [];
  const cli: CliOptions = { env, logDir: o.logDir, allLines: lines, echo: o.echo };
  const ackDeadlineSeconds = o.ackDeadlineSeconds ?? 10;
  const workers = o.workers ?? 2;
  const full = o.objects >= 10_000;
  // Small runs send few keys a message: a SIGKILLed worker holds its messages until their leases lapse,
  // and with 50 keys a message one worker holds a small run's whole list. Their fleet pause on GCS's 503 is
  // 5 s, not 30: a run of seconds paused for 30 s acks its messages 30 s late, the Pub/Sub client then
  // leases them for as long (its deadline is the 99th percentile of ack times), and a worker killed just
  // after held them past the copy phase's 60 s without progress (CI saw one kill of two).
  const tuning = o.objects < 1000 ? { ...TUNING, num_single_message: 5, gcs_throttle_backoff_seconds: 5 } : TUNING;
  const prepared = await prepareCloud({ names, env, dataset, cli, tuning, ackDeadlineSeconds, say });
  const db = createPool({ host: prepared.mysql.host, port: prepared.mysql.port, user: prepared.mysql.user, password: prepared.mysql.password, database: prepared.mysql.database, connectionLimit: 2 });
  const c: ChaosCtx = { names, env, cli, db, say, procs: [], exits: [] };
  const storage = new Storage({ projectId: 'ott-local', apiEndpoint: env.OTT_GCS_ENDPOINT });
  const s3 = makeS3Client({ ...process.env, ...env });
  const audit = new ErrorTopicAudit(names.errorSubscription);
  const endpoints = { cdn: env.OTT_CDN_ENDPOINT, gcs: env.OTT_GCS_ENDPOINT };
  try {
    await prepared.sourceReady;
    for (const d of dataset) if (d.accessTier) await setAccessTier(names.s3Bucket, d.key, d.accessTier, env.OTT_S3_ENDPOINT);
    const programmed = await programFaults(endpoints, faultPlan({ s3Bucket: names.s3Bucket, gcsBucket: names.gcsBucket, root: names.root, objects: dataset.length }));
    say(`source ready: ${dataset.length} objects, ${(dataset.reduce((a, d) => a + d.sizeBytes, 0) / MiB).toFixed(1)} MiB, ${dataset.filter(isArchived).length} archived; ${programmed.size} fault rules programmed`);

    const migrate = await once(c, 'migrate', 'objects', ['migrate']);
    if ((await migrate.exited).code !== 0) throw new Error(`ott migrate failed: ${migrate.lines.slice(-3).join(' | ')}`);
    await once(c, 'dump', 'objects', ['dump']);

    // The chaos phase: the publisher and the copy run while events.ts strikes.
    say('== chaos phase: publishObjectsList + cdnTransfer, with kills, a MariaDB outage and S3 changes');
    const pool = workerPool(c, {
      stage: 'cdnTransfer',
      pipeline: 'objects',
      argv: ['cdnTransfer', '--processes', '1'],
      count: workers,
      // Never idle out: events.ts ends the phase (everything copied, or no progress for a while), since a
      // killed worker's messages come back only when their leases lapse, long after the ack deadline.
      idleExitSeconds: 3600,
      timeoutMs: (full ? 40 : 8) * 60_000,
    });
    const publisher = (async () => {
      for (let i = 1; i <= 5; i++) {
        const p = await once(c, `publishObjectsList-${i}`, 'objects', ['publishObjectsList']);
        if ((await p.exited).code === 0) return;
        await new Promise((r) => setTimeout(r, 3000));
      }
    })();
    const [events] = await Promise.all([chaosEvents(c, pool, { storage, s3, dataset, outageSeconds: o.outageSeconds ?? 10, stallMs: (full ? 180 : 60) * 1000 }), pool.done, publisher]);

    // Rounds until status says done.
    let rounds = 0;
    let lastStatus: StatusJson | undefined;
    let notDone: string | undefined = 'not checked';
    while (rounds < o.maxRounds) {
      rounds++;
      say(`== round ${rounds}: ${ROUND.map((s) => [s.argv[0], ...s.argv.filter((a) => /^--(recheck|delta|deep)$/.test(a))].join(' ')).join(' -> ')}`);
      await runRound(c, rounds, { workers, idleExitSeconds: o.roundIdleExitSeconds ?? 6, stageTimeoutMs: (full ? 30 : 4) * 60_000 });
      lastStatus = await readStatus(c, `r${rounds}-status`);
      notDone = notDoneReason(lastStatus);
      say(`== round ${rounds} done: status ${notDone ? `NOT done (${notDone})` : 'done'}: ${statusLine(lastStatus)}`);
      if (!notDone) break;
    }

    say('== verifying: MD5 of every object on both sides, and rclone check');
    const verdict = await verify({ s3, storage, s3Endpoint: env.OTT_S3_ENDPOINT, gcsEndpoint: env.OTT_GCS_ENDPOINT, s3Bucket: names.s3Bucket, gcsBucket: names.gcsBucket, root: names.root });
    const faults = await countFaults(endpoints, names, programmed);
    const v = verdict.md5;
    const problems: string[] = [];
    if (notDone) problems.push(`status not done after ${rounds} round(s): ${notDone}`);
    if (v.missing.length) problems.push(`${v.missing.length} missing in GCS`);
    if (v.different.length) problems.push(`${v.different.length} different in GCS`);
    if (v.extra.length) problems.push(`${v.extra.length} extra in GCS`);
    problems.push(...verdict.disagreements.map((d) => `verifiers disagree: ${d}`));
    const expectArchived = dataset.filter(isArchived).length;
    if (v.archived.length !== expectArchived) problems.push(`verifier found ${v.archived.length} archived objects, the dataset has ${expectArchived}`);
    const statusArchived = archivedInStatus(lastStatus);
    if (statusArchived === undefined) problems.push(`status does not report archived objects (verifier: ${v.archived.length})`);
    else if (statusArchived !== v.archived.length) problems.push(`status reports ${statusArchived} archived objects, verifier ${v.archived.length}`);
    const t = lastStatus?.total;
    if (!t) problems.push('no status totals');
    else {
      // Status may count archived objects in its S3 totals (in scope, reported, not done) or leave them
      // out; either way its figures must be the verifier's exactly.
      const withArchived = statusArchived !== undefined && statusArchived === v.archived.length && t.s3Objects === v.s3Objects + v.archived.length;
      const pairs: [string, number, number][] = [
        ['S3 objects', t.s3Objects, v.s3Objects + (withArchived ? v.archived.length : 0)],
        ['S3 bytes', t.s3Bytes, v.s3Bytes + (withArchived ? v.archivedBytes : 0)],
        ['GCS objects', t.gcsObjects, v.gcsObjects],
        ['GCS bytes', t.gcsBytes, v.gcsBytes],
      ];
      for (const [what, ours, theirs] of pairs) {
        if (ours !== theirs) problems.push(`status ${what} ${ours} != verifier ${theirs}${what === 'S3 objects' && ours - theirs === v.archived.length ? ' (status counts the archived objects without reporting them)' : ''}`);
      }
    }
    const leaks = findLeaks(lines, { mysqlPassword: prepared.mysql.password, awsSecret: 'S3RVER', privateKeyPem: prepared.key.privateKeyPem });
    if (leaks.length) problems.push(`${leaks.length} log line(s) carry a secret or URL signature: ${leaks[0]}`);
    const diagnosis = await diagnose(c, dataset, events.changes, [
      { kind: 'MISSING', keys: v.missing },
      { kind: 'DIFFERENT', keys: v.different },
      { kind: 'EXTRA', keys: v.extra },
    ]);
    const failedExits = c.exits.filter(failedExit);
    const pass = problems.length === 0;
    const minutes = (Date.now() - t0) / 60_000;
    const injected = faults.total + events.kills.length + (events.outage ? 1 : 0) + events.changes.length;
    const faultText = [
      ...Object.entries(faults.byName).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`),
      `workers SIGKILLed mid-object ${events.kills.length}`,
      `MariaDB outages ${events.outage ? 1 : 0}${events.outage?.late ? ' (late)' : ''}`,
      `S3 changes ${events.changes.length}${events.changesLate ? ' (late)' : ''}`,
    ].join(', ');
    const line =
      `chaos: ${dataset.length} objects (${(dataset.reduce((a, d) => a + d.sizeBytes, 0) / MiB).toFixed(1)} MiB, ${v.archived.length} archived), ` +
      `${injected} faults injected (${faultText}), ${minutes.toFixed(1)} min, ${rounds} round(s), ` +
      `verdict ${pass ? 'PASS' : 'FAIL'}: ${v.objects} byte-identical, ${v.missing.length} missing, ${v.different.length} different, ${v.extra.length} extra` +
      (pass ? '' : `; ${problems.join('; ')}`);
    const errorTopic = { messages: audit.received.length, sample: audit.received.slice(0, 8).map((e) => `${String(e.message.key ?? e.message.dir_key ?? '?')}: ${String(e.message.reason ?? '').slice(0, 160)}`) };
    await audit.close();
    return { errorTopic, objects: dataset.length, bytes: dataset.reduce((a, d) => a + d.sizeBytes, 0), archived: v.archived.length, faults, events, minutes, rounds, converged: !notDone, lastStatus, verdict, problems, diagnosis, failedExits, pass, line };
  } finally {
    await Promise.all(c.procs.filter((p) => !p.done()).map((p) => p.stop('SIGTERM', 5000)));
    await audit.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    s3.destroy();
  }
}
