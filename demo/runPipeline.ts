// One whole migration on a running local cloud: the operator's set-up, then every stage of the pipeline
// as separate `ott` processes, then what happened (the demo's verification, the error topic, every log
// line and the secrets found in them). `npm run demo` prints it; the e2e test (through demo/index.ts)
// steps in with hooks and judges the outcome with its own tools.
import { createPool, type Pool } from 'mysql2/promise';
import { Storage } from '@google-cloud/storage';
import { availableCommands, type CliOptions } from './cli.js';
import type { Damage } from './damage.js';
import { findLeaks } from './leaks.js';
import { startDashboard, writeHtmlReport } from './dashboard.js';
import { pipelineStages, type PipelineHooks, type PipelineState } from './pipeline.js';
import { prepareCloud, type PrepareOptions } from './prepare.js';
import { PROJECT, type MysqlConfig } from './setupCloud.js';
import { stopAll, type RunContext } from './stageRunner.js';
import { dirRows, ErrorTopicAudit, heldClaims, type DirRow, type ErrorRecord } from './state.js';
import type { VerifyReport } from './verify.js';

const NEEDED_COMMANDS = ['migrate', 'config', 'dump', 'publishObjectsList', 'cdnTransfer', 'publishDirList', 'syncCheck', 'rsync', 'status'];

/** What prepareCloud takes (names, env, dataset, tuning, ack deadline, progress), plus the run's shape. */
export interface RunPipelineOptions extends Omit<PrepareOptions, 'cli'> {
  /** Where every process's log file goes. */
  logDir: string;
  workers: { cdnTransfer: number; syncCheck: number; rsync: number };
  workerStageTimeoutMs: number;
  /** Run the post-damage checks with --deep (catches same-size overwrites by checksum). */
  deepCheck: boolean;
  /** Subfolders to damage (default 3, plus one with a resized object). */
  damageSubfolders?: number;
  /** Keys the CDN refuses throughout cdnTransfer: they must reach the error topic. */
  unavailableKeys?: string[];
  hooks?: PipelineHooks;
  /** Run `ott dashboard` beside the stages (printing its URL), and write `ott report --format html` into this folder at the end. */
  dashboard?: { reportDir: string };
  /** Echo of the processes' interesting log lines (the demo prints them, the test keeps quiet). */
  echo?: (label: string, text: string) => void;
}

export interface PipelineRun {
  mysql: MysqlConfig;
  /** The demo's own check: every dataset object downloaded from GCS and MD5-compared with what it must be. */
  verify: VerifyReport;
  damage?: Damage;
  statusJson?: unknown;
  /** The HTML report written at the end (with `dashboard`). */
  reportHtml?: string;
  /** Seconds per stage, in order, and for all of them. */
  timings: Array<{ stage: string; seconds: number }>;
  pipelineSeconds: number;
  /** The state table at the end, and the claims still held then (there must be none). */
  rows: DirRow[];
  claimsLeft: Array<{ dir_key: string; mode: string; owner: string | null }>;
  /** Every message on the error topic. */
  errors: ErrorRecord[];
  /** Every log line of every process, and the ones carrying a secret or a URL signature. */
  lines: string[];
  leaks: string[];
}

/** Runs the stages in order; a stage that fails throws (its message says which), after every process is stopped. */
export async function runPipeline(o: RunPipelineOptions): Promise<PipelineRun> {
  const { names, env, say } = o;
  const lines: string[] = [];
  const cli: CliOptions = { env, logDir: o.logDir, allLines: lines, echo: o.echo };
  const commands = await availableCommands(env, o.logDir);
  const missing = NEEDED_COMMANDS.filter((c) => !commands.has(c));
  if (missing.length) say(`WARNING: this checkout's CLI lacks ${missing.map((c) => `\`ott ${c}\``).join(', ')}: the stages that need them will fail`);

  const { mysql, key, sourceReady } = await prepareCloud({ names, env, dataset: o.dataset, cli, tuning: o.tuning, ackDeadlineSeconds: o.ackDeadlineSeconds, maxDeliveryAttempts: o.maxDeliveryAttempts, say });
  const db: Pool = createPool({ host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, database: mysql.database, connectionLimit: 2 });
  const rc: RunContext = { names, env, cli, db, commands, say, procs: [] };
  const audit = new ErrorTopicAudit(names.errorSubscription);
  try {
    const storage = new Storage({ projectId: PROJECT, ...(env.OTT_GCS_ENDPOINT ? { apiEndpoint: env.OTT_GCS_ENDPOINT } : {}) });
    const st: PipelineState = { storage, audit, gcsName: (k) => k, sourceReady, timings: [] };
    const stages = pipelineStages({
      dataset: o.dataset,
      cdnWorkers: o.workers.cdnTransfer,
      syncCheckWorkers: o.workers.syncCheck,
      rsyncWorkers: o.workers.rsync,
      unavailableKeys: o.unavailableKeys,
      workerStageTimeoutMs: o.workerStageTimeoutMs,
      deepCheck: o.deepCheck,
      damageSubfolders: o.damageSubfolders,
      hooks: o.hooks,
    });
    if (o.dashboard) await startDashboard(rc);
    const pipelineStart = Date.now();
    for (const stage of stages) {
      say(`== ${stage.name}`);
      const started = Date.now();
      const result = await stage.run(rc, st);
      const seconds = (Date.now() - started) / 1000;
      st.timings.push({ stage: stage.name, seconds });
      say(`== ${stage.name} done in ${seconds.toFixed(1)} s: ${result}`);
    }
    const pipelineSeconds = (Date.now() - pipelineStart) / 1000;
    const reportHtml = o.dashboard ? await writeHtmlReport(rc, o.dashboard.reportDir) : undefined;
    await stopAll(rc);
    return {
      mysql,
      verify: st.verify!,
      damage: st.damage,
      statusJson: st.statusJson,
      reportHtml,
      timings: st.timings,
      pipelineSeconds,
      rows: await dirRows(db, names.table),
      claimsLeft: await heldClaims(db, names.table),
      errors: [...audit.received],
      lines,
      leaks: findLeaks(lines, { mysqlPassword: mysql.password, awsSecret: 'S3RVER', privateKeyPem: key.privateKeyPem }),
    };
  } finally {
    await stopAll(rc);
    await audit.close();
    await db.end().catch(() => undefined);
  }
}
