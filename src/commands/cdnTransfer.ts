import { availableParallelism } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { noPretenuring, scavengeStreamedBuffers } from '../common/heap.js';
import { runMode, type GlobalArgs } from './runMode.js';
import { metricsOptions, type MetricsCliArgs } from './metricsOptions.js';

interface CdnTransferCliArgs extends GlobalArgs, MetricsCliArgs {
  processes: number;
  idleExitSeconds: number;
  exitWhenIdleSeconds?: number;
  bwlimit?: string;
}

export const cdnTransferCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'cdnTransfer',
  describe:
    'Copy objects S3 -> CloudFront -> GCS: pulls object-list messages from pubsub_subscription_id, downloads each object through ' +
    'a signed CloudFront URL and streams it into gcs_bucket, verified (size, and the MD5 or the multipart ETag; for SSE-KMS objects ' +
    "S3's full-object checksum, else size only, counted). " +
    'Objects already copied are skipped; failures go to error_pubsub_topic_id after retries; malformed messages to ' +
    'dead_letter_topic_id. SIGTERM: stops pulling, finishes in-flight objects within grace_period_seconds, nacks the rest.',
  builder: (y: Argv<GlobalArgs>) =>
    metricsOptions(y)
      // With --processes N, each child serves its metrics on --metrics-port + its slot (0..N-1).
      .option('process-slot', { type: 'number', hidden: true, describe: 'set by the parent of --processes N for each child' })
      .option('processes', { type: 'number', default: availableParallelism(), describe: 'worker processes (each runs transfer_concurrency copies); default: CPU count' })
      .option('bwlimit', { type: 'string', describe: 'bytes/s each process reads from the CDN: 50M, 512K, off, or a daily schedule "08:00,50M 18:00,off" (local time); overrides config bwlimit' })
      .option('idle-exit-seconds', { type: 'number', default: 0, describe: 'exit after this long with no message (0: run until SIGTERM)' })
      // The old name keeps working for existing scripts. Not a yargs alias: help lists every alias, and this
      // one should stay out of it.
      .option('exit-when-idle-seconds', { type: 'number', hidden: true, describe: 'old name of --idle-exit-seconds' }) as unknown as Argv<GlobalArgs>,
  handler: async (argv) => {
    const a = argv as unknown as CdnTransferCliArgs;
    if (!Number.isInteger(a.processes) || a.processes < 1) throw new Error(`Expected \`--processes\` to be an integer from 1 and up, got \`${a.processes}\``);
    const idleExitSeconds = a.idleExitSeconds === 0 && a.exitWhenIdleSeconds !== undefined ? a.exitWhenIdleSeconds : a.idleExitSeconds;
    if (!(idleExitSeconds >= 0)) throw new Error(`Expected \`--idle-exit-seconds\` to be a number from 0 and up, got \`${idleExitSeconds}\``);
    if (a.processes > 1) {
      const { runProcesses } = await import('../worker/transferProcesses.js');
      const args = process.argv.slice(2).filter((x, i, all) => x !== '--processes' && all[i - 1] !== '--processes' && !x.startsWith('--processes='));
      // The parent does no work and serves no metrics: each child serves its own on the port + its slot.
      process.exitCode = await runProcesses(a.processes, process.argv[1], [...args, '--processes', '1']);
      return exitNow();
    }
    // A forked child: if the parent goes away, shut down as on SIGTERM (finish in-flight, nack the rest).
    const orphaned = (): void => void process.kill(process.pid, 'SIGTERM');
    noPretenuring(); // per-copy garbage dies young instead of piling up until a full collection (common/heap.ts)
    scavengeStreamedBuffers(); // and so do the socket reads' buffers (common/heap.ts)
    if (process.connected) process.once('disconnect', orphaned);
    await runMode('cdnTransfer', argv, async (ctx) => {
      const { run } = await import('../worker/cdnTransfer.js');
      return run(ctx, { exitWhenIdleMs: idleExitSeconds > 0 ? idleExitSeconds * 1000 : undefined, bwlimit: a.bwlimit });
    }, { metrics: a });
    process.off('disconnect', orphaned);
    return exitNow();
  },
};

/**
 * Ends the process once its work is done and the context is closed. Waiting for the event loop to drain
 * is not enough: an IPC channel to the parent, a keep-alive socket or a client library's timer can keep a
 * finished worker alive, and the parent (and systemd, until its stop timeout) would wait for it forever.
 */
async function exitNow(): Promise<never> {
  for (const out of [process.stdout, process.stderr]) if (out.writableNeedDrain) await new Promise((r) => out.once('drain', r));
  process.exit();
}
