// Workload `small` (20,000 x 16 KiB): ours against the bare verified loop (the limit: targets >= 0.85x
// its rate, <= 1.2x its CPU per object, peak RSS < 256 MiB in one process), the bare unverified loop
// (what verification costs), and rclone 1.60 at its best settings. Also `procs`: 2 worker processes vs 1.
import { rateRatio, perSecond } from '../results.js';
import { syntheticObjects } from './fixtures.js';
import { CMD, interleaved, plural, cpuPer, fastest, fixturesPer, sizeText, sweep, verdict, type Run } from './measure.js';
import { bare, ours, oursCopyPath, rclone, rcloneLabel, rcloneTransfersSettings, type Ctx, type Emit } from './sides.js';

export async function runSmall(c: Ctx, emit: Emit): Promise<void> {
  const { count, bytes } = c.args.small;
  const want = c.args.workloads;
  const objects = await syntheticObjects(c.w, 's', count, bytes);
  const settings = rcloneTransfersSettings(c.args.transfers);
  const sweepSet = objects.slice(0, Math.min(c.args.sweepObjects, count));
  const picked = want.has('small') ? await sweep('rclone small', settings, rcloneLabel, (s) => rclone(c, 'small-sweep', sweepSet, s)) : undefined;
  const small = want.has('small');
  const runs = await interleaved(c.args.rounds, {
    ours: () => ours(c, 'small', objects),
    bare: small ? () => bare(c, 'small', objects, true) : undefined,
    unverified: small ? () => bare(c, 'small', objects, false) : undefined,
    rclone: picked?.best && (() => rclone(c, 'small', objects, picked.best!.setting)),
    twoProcesses: want.has('procs') ? () => ours(c, 'small2p', objects, { processes: 2 }) : undefined,
    copyPath: want.has('copypath') ? () => oursCopyPath(c, 'smallcp', objects) : undefined,
  });
  const rc = runs.rclone;
  const label = `${count.toLocaleString('en')} x ${sizeText(bytes)}, concurrency ${c.args.concurrency}, fastest of ${plural(c.args.rounds, 'interleaved round')}`;
  const O = fastest(runs.ours);
  const rate = (r: Run): string => perSecond(count, r.ms);
  const cpu = (r: Run): string => cpuPer(r, count, 'ms', 2);
  // The run's second half (half the objects done to the end): start-up, stream opening and JIT warm-up behind it.
  const halfPer = (r: Run): number | undefined => (r.secondHalf ? r.secondHalf.cpuMs / r.secondHalf.objects : undefined);
  const halfCpu = (r: Run): string => (halfPer(r) === undefined ? 'not measured' : `${halfPer(r)!.toFixed(3)} ms`);
  if (want.has('procs')) {
    const O2 = fastest(runs.twoProcesses);
    emit('procs', [`- cdnTransfer procs, 2 processes vs 1 (${label}): ${rateRatio(O2.ms, O.ms)} (2 processes ${rate(O2)}, 1 process ${rate(O)}; CPU per object ${cpu(O2)} vs ${cpu(O)}; peak RSS per process ${O2.peakRssMiB} MiB vs ${O.peakRssMiB} MiB) -- ${CMD}`]);
  }
  if (want.has('copypath')) {
    const P = fastest(runs.copyPath);
    const B = small ? fastest(runs.bare) : undefined;
    emit('copypath', [
      `- cdnTransfer small, the copy path alone (createCopier in lanes: no Pub/Sub, no MySQL, no pipeline; ${label}): ${rate(P)}, CPU per object ${cpu(P)}; ` +
        `the whole worker ${rate(O)} at ${cpu(O)}${B ? `; the bare loop ${rate(B)} at ${cpu(B)}` : ''}; ` +
        `in the runs' second halves, CPU per object: the copy path ${halfCpu(P)}, the whole worker ${halfCpu(O)}${B ? `, the bare loop ${halfCpu(B)}` : ''} -- ${CMD}`,
    ]);
  }
  if (!small) return;
  const B = fastest(runs.bare);
  const U = fastest(runs.unverified);
  const rss = Math.max(...runs.ours.map((r) => r.peakRssMiB ?? Infinity));
  const cpuRatio = O.cpuMs / B.cpuMs;
  const lines = [
    `- cdnTransfer small (${label}): ${rateRatio(O.ms, B.ms)} of the bare undici GET->MD5->GCS multipart loop's rate (ours ${rate(O)}, bare ${rate(B)}; target >= 0.85x ${verdict(B.ms / O.ms >= 0.85)}); ` +
      `CPU per object ours ${cpu(O)}, bare ${cpu(B)}, ${cpuRatio.toFixed(2)}x (target <= 1.2x ${verdict(cpuRatio <= 1.2)}); ours peak RSS ${rss} MiB in one process (target < 256 MiB ${verdict(rss < 256)})` +
      `${O.firstObject ? `; inside ours' clock and CPU, its start-up (the subscription opening) until the first object was in GCS: ${Math.round(O.firstObject.ms)} ms and ${Math.round(O.firstObject.cpuMs)} ms CPU` : ''} -- ${CMD}`,
    `- cdnTransfer small, the runs' second halves (from half the objects done to the end: start-up, stream opening and JIT warm-up behind them; the same fastest rounds): CPU per object ours ${halfCpu(O)}, bare ${halfCpu(B)}` +
      `${halfPer(O) !== undefined && halfPer(B) !== undefined ? `, ${(halfPer(O)! / halfPer(B)!).toFixed(2)}x (what a long run converges to; the target above is on the whole run)` : ''} -- ${CMD}`,
    `- cdnTransfer small, the cost of verification: a bare loop with plain URLs and no MD5 (the CDN checks no signature, GCS still hashes) runs ${rate(U)} at ${cpu(U)} CPU per object; ` +
      `the verified bare loop reaches ${rateRatio(B.ms, U.ms)} of its rate at ${(B.cpuMs / U.cpuMs).toFixed(2)}x its CPU per object, ours ${rateRatio(O.ms, U.ms)} at ${(O.cpuMs / U.cpuMs).toFixed(2)}x -- ${CMD}`,
    rc.length
      ? `- cdnTransfer small vs rclone 1.60: ours ${rateRatio(O.ms, fastest(rc).ms)} of rclone's rate at its best, \`${rcloneLabel(picked!.best!.setting)}\` (fastest of ${plural(settings.length, 'setting')} swept on the first ${plural(sweepSet.length, 'object')}, then ${plural(c.args.rounds, 'round')} like ours: ${rate(fastest(rc))}, CPU per object ${cpu(fastest(rc))}; ` +
        `rclone reads unsigned URLs and checks sizes only, its output counted in GCS as ours is) -- ${CMD}`
      : `- cdnTransfer small vs rclone 1.60: not measured, every setting failed (${picked?.failed ?? 'no settings'}) -- ${CMD}`,
    `- cdnTransfer small, fixture servers' CPU per object: during ours ${fixturesPer(O, count, 'ms', 2)}; bare ${fixturesPer(B, count, 'ms', 2)}; unverified ${fixturesPer(U, count, 'ms', 2)}` +
      `${rc.length ? `; rclone ${fixturesPer(fastest(rc), count, 'ms', 2)}` : ''} -- ${CMD}`,
  ];
  emit('small', lines);
}
