// `npm run demo`: the whole migration on the local cloud, as the VMs would run it, with a verification
// summary at the end. Exits 0 only if every object arrived byte-identical and every subfolder checked equal.
//
//   node --import tsx demo/run.ts [--scale demo|small] [--keep]
//
// --scale small: a tiny dataset (76 objects); --keep: keep every CLI process's log (the path is printed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, SERVICE_NAMES, type Stack } from '../test/stack/index.js';
import { buildDataset, type DatasetOptions } from './dataset.js';
import { runPipeline } from './runPipeline.js';
import { MissingPieceError } from './stageRunner.js';
import { demoNames } from './setupCloud.js';

const MiB = 1024 * 1024;
const SCALES: Record<string, DatasetOptions> = {
  demo: { root: 'data/', subfolders: 300, objectsPerSubfolder: 8, bigObjectsBytes: [100 * MiB, 96 * MiB + 12345], mediumFraction: 0.03 },
  small: { root: 'data/', subfolders: 20, objectsPerSubfolder: 3, bigObjectsBytes: [11 * MiB] },
};
/** The pipeline services the demo needs besides what every stack has. */
const NEEDED_SERVICES = ['gcs', 'cdn'];
/** Demo-scale settings: enough copy slots for two workers on two cores; leases short enough to show recovery. */
const TUNING = { num_messages: 6, transfer_concurrency: 16, lease_seconds: 60, max_attempts: 5, retry_budget_ms: 60_000, grace_period_seconds: 15 };

const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const say = (text: string): void => void process.stdout.write(`[${elapsed()}] ${text}\n`);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  const scaleName = arg('--scale') ?? process.env.OTT_DEMO_SCALE ?? 'demo';
  const scale = SCALES[scaleName];
  if (!scale) throw new Error(`--scale: got ${JSON.stringify(scaleName)}, expected one of ${Object.keys(SCALES).join(', ')}`);
  const keep = process.argv.includes('--keep');

  const missingServices = NEEDED_SERVICES.filter((s) => !SERVICE_NAMES.includes(s));
  if (missingServices.length) say(`WARNING: the local cloud has no ${missingServices.join(', ')} service yet (test/stack/index.ts): the stages that need it will fail`);
  say(`starting the local cloud (${SERVICE_NAMES.join(', ')})`);
  const stack: Stack = await startStack();
  Object.assign(process.env, stack.env);
  // Not under the stack's dir: a later stack's reaper removes that once this process is gone.
  const logDir = mkdtempSync(join(tmpdir(), 'ott-demo-logs-'));
  say(`local cloud up; every process's log is in ${logDir}${keep ? '' : ' (removed on exit: pass --keep to keep it)'}`);

  const dataset = buildDataset(scale);
  const totalBytes = dataset.reduce((a, o) => a + o.sizeBytes, 0);
  try {
    const run = await runPipeline({
      names: demoNames('ott-demo'),
      env: stack.env,
      dataset,
      logDir,
      tuning: TUNING,
      ackDeadlineSeconds: 20,
      workers: { cdnTransfer: 2, syncCheck: 2, rsync: 2 },
      workerStageTimeoutMs: 240_000,
      deepCheck: true,
      // The live page beside the run, and its HTML record at the end (kept: it is outside the log dir).
      dashboard: { reportDir: join(process.cwd(), 'demo-report') },
      say,
      echo: (label, text) => say(`  ${label}: ${text}`),
    });

    // --- the verdict
    const v = run.verify;
    const transfer = run.timings.find((t) => t.stage.endsWith('cdnTransfer'))!;
    const ok = v.allIdentical && run.errors.length === 0 && run.leaks.length === 0;
    const d = run.damage;
    const lines = [
      '',
      '================ verification summary ================',
      `objects in source         ${dataset.length}`,
      `objects verified in GCS   ${v.objects} (downloaded and MD5-compared with what each must be)`,
      `bytes verified            ${v.bytes} (${(v.bytes / MiB).toFixed(1)} MiB)`,
      `all byte-identical        ${v.allIdentical ? 'yes' : 'NO'}${v.allIdentical ? '' : `  missing ${v.missing.slice(0, 5).join(', ')} different ${v.different.slice(0, 5).join(', ')} metadata ${v.metadataLost.slice(0, 5).join(', ')}`}`,
      `damage found and repaired ${d ? `${d.dirs.length} subfolders (${d.deleted.length} deleted, ${d.overwrittenSameSize.length} overwritten, ${d.resized.length} resized)` : '-'}`,
      `error topic               ${run.errors.length} message(s)`,
      `secrets in logs           ${run.leaks.length ? `LEAKED: ${run.leaks.slice(0, 3).join(' | ')}` : `none (${run.lines.length} log lines checked)`}`,
      `publish + cdnTransfer     ${transfer.seconds.toFixed(1)} s, ${(totalBytes / MiB / transfer.seconds).toFixed(1)} MiB/s, ${(dataset.length / transfer.seconds).toFixed(0)} objects/s`,
      `pipeline time             ${run.pipelineSeconds.toFixed(1)} s (stages: ${run.timings.map((t) => `${t.stage} ${t.seconds.toFixed(1)}`).join(', ')})`,
      `HTML report               ${run.reportHtml ?? 'none (this checkout has no `ott report`)'}`,
      `total time                ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      `RESULT                    ${ok ? 'PASS: everything arrived intact' : 'FAIL'}`,
      '======================================================',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return ok ? 0 : 1;
  } catch (err) {
    const e = err as Error;
    say(e instanceof MissingPieceError ? `MISSING PIECE: ${e.message}` : `FAILED: ${e.message}`);
    say(`logs: ${logDir}${keep ? '' : ' (pass --keep to keep them)'}`);
    return 1;
  } finally {
    await stack.stop();
    if (!keep) rmSync(logDir, { recursive: true, force: true });
  }
}

const code = await main().catch((err: Error) => {
  say(`FAILED: ${err.stack ?? err.message}`);
  return 1;
});
process.exit(code);
