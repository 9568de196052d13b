// Workload `large` (8 x 256 MiB, no bandwidth cap): ours against the bare verified loop (target >= 0.95x
// its rate), the bare unverified loop, and rclone 1.60 at its best settings.
import { rateRatio } from '../results.js';
import { syntheticObjects } from './fixtures.js';
import { CMD, interleaved, plural, cpuPer, fastest, fixturesPer, mibPerS, sizeText, sweep, verdict, MiB, type Run } from './measure.js';
import { bare, ours, rclone, rcloneLabel, rcloneTransfersSettings, type Ctx, type Emit } from './sides.js';

export async function runLarge(c: Ctx, emit: Emit): Promise<void> {
  const { count, bytes } = c.args.large;
  const objects = await syntheticObjects(c.w, 'l', count, bytes);
  const total = count * bytes;
  // More transfers than objects cannot help: the sweep stops at the object count.
  const settings = rcloneTransfersSettings([...new Set(c.args.transfers.map((t) => Math.min(t, count)))]);
  const picked = await sweep('rclone large', settings, rcloneLabel, (s) => rclone(c, 'large-sweep', objects, s));
  const runs = await interleaved(c.args.rounds, {
    ours: () => ours(c, 'large', objects),
    bare: () => bare(c, 'large', objects, true),
    unverified: () => bare(c, 'large', objects, false),
    rclone: picked.best && (() => rclone(c, 'large', objects, picked.best!.setting)),
  });
  // --bwlimit on the same workload: one process capped at `bwlimit`, its rate against the limit.
  const limitBytesPerS = c.args.large.bwlimitBytesPerS;
  const limited = await ours(c, 'large-bwlimit', objects, { extraConfig: { bwlimit: `${limitBytesPerS}B` } });
  const rc = runs.rclone;
  const O = fastest(runs.ours);
  const B = fastest(runs.bare);
  const U = fastest(runs.unverified);
  const mib = total / MiB;
  const rss = Math.max(...runs.ours.map((r) => r.peakRssMiB ?? Infinity));
  const rate = (r: Run): string => mibPerS(total, r.ms);
  const cpu = (r: Run): string => cpuPer(r, mib, 'ms', 1);
  const label = `${count} x ${sizeText(bytes)}, uncapped, fastest of ${plural(c.args.rounds, 'interleaved round')}`;
  emit('large', [
    `- cdnTransfer large (${label}): ${rateRatio(O.ms, B.ms)} of the bare undici GET->MD5->GCS resumable loop's rate, 8 MiB chunks (ours ${rate(O)}, bare ${rate(B)}; target >= 0.95x ${verdict(B.ms / O.ms >= 0.95)}); ` +
      `CPU per MiB ours ${cpu(O)}, bare ${cpu(B)}; ours peak RSS ${rss} MiB -- ${CMD}`,
    `- cdnTransfer large, the cost of verification: a bare loop with plain URLs and no MD5 (GCS still hashes) runs ${rate(U)} at ${cpu(U)} CPU per MiB; the verified bare loop reaches ${rateRatio(B.ms, U.ms)} of its rate, ours ${rateRatio(O.ms, U.ms)} -- ${CMD}`,
    rc.length
      ? `- cdnTransfer large vs rclone 1.60: ours ${rateRatio(O.ms, fastest(rc).ms)} of rclone's rate at its best, \`${rcloneLabel(picked.best!.setting)}\` (fastest of ${plural(settings.length, 'setting')}, then ${plural(c.args.rounds, 'round')} like ours: ${rate(fastest(rc))}, CPU per MiB ${cpu(fastest(rc))}; unsigned, sizes only) -- ${CMD}`
      : `- cdnTransfer large vs rclone 1.60: not measured, every setting failed (${picked.failed}) -- ${CMD}`,
    `- cdnTransfer large with --bwlimit ${sizeText(limitBytesPerS)}/s (one process): ${(total / (limited.ms / 1000) / limitBytesPerS).toFixed(2)}x of the limit (${rate(limited)}; target 0.9x-1.1x ${verdict(Math.abs(total / (limited.ms / 1000) / limitBytesPerS - 1) <= 0.1)}), timed like the other sides from the started line -- ${CMD}`,
    `- cdnTransfer large, fixture servers' CPU per MiB: during ours ${fixturesPer(O, mib, 'ms', 1)}; bare ${fixturesPer(B, mib, 'ms', 1)}; unverified ${fixturesPer(U, mib, 'ms', 1)}${rc.length ? `; rclone ${fixturesPer(fastest(rc), mib, 'ms', 1)}` : ''} -- ${CMD}`,
  ]);
}
