// Workload `parallel`: ONE 5 GiB object with the CDN fixture capping every connection at 50 MiB/s, as a
// WAN does, so one stream cannot go faster however fast the machine. Sides:
// - ours: the tool as configured (`--ott-config` passes its parallel-parts settings once it has them);
//   `--ott-single-config` adds a run of ours forced to one stream, the baseline of the >= 4x target
//   (without it, ours IS the single stream, as the tool is today, and the ratio is 1.00x by definition);
// - the bare parallel-range loop (bareParallel.ts), its parts-in-flight swept (`--streams`);
// - rclone 1.60 at its best: `:http: -> gcs:` with `--multi-thread-streams` x `--multi-thread-cutoff`
//   swept (its CDN GET count shows whether it read in ranges), and the same sweep through a local disk.
// Targets: ours >= 4x our single stream, >= 0.8x the bare parallel loop, peak RSS < 256 MiB.
import { rateRatio } from '../results.js';
import { clearThrottle, setThrottle } from '../../test/stack/cdn/client.js';
import { syntheticObjects, syntheticPartMd5s } from './fixtures.js';
import { CMD, interleaved, plural, cpuPer, fastest, fixturesPer, mibPerS, sizeText, sweep, verdict, MiB, type Run, type Swept } from './measure.js';
import { bareParallel, ours, rclone, rcloneLabel, type Ctx, type Emit, type RcloneSetting } from './sides.js';

/** rclone's size syntax: a bare number means KiB to rclone, so say the unit. */
const rcloneSize = (bytes: number): string => (bytes % MiB === 0 ? `${bytes / MiB}Mi` : `${bytes}B`);

export async function runParallel(c: Ctx, emit: Emit): Promise<void> {
  const p = c.args.parallel;
  const [e] = await syntheticObjects(c.w, 'p', 1, p.bytes);
  const [sweepObject] = await syntheticObjects(c.w, 'q', 1, Math.min(p.sweepBytes, p.bytes));
  const partMd5s = syntheticPartMd5s(p.bytes, p.partBytes);
  await setThrottle(c.w.cdn, p.capBytesPerS);
  try {
    const bareBest = await sweep('bare parallel', p.streams, (n) => `${n} streams`, (n) => bareParallel(c, 'parallel-sweep', e, n, partMd5s));
    const rcloneSettings: RcloneSetting[] = p.streams.flatMap((n) => p.cutoffs.map((cut) => ['--multi-thread-streams', String(n), '--multi-thread-cutoff', rcloneSize(cut), '--no-check-dest']));
    const direct = await sweep('rclone parallel', rcloneSettings, rcloneLabel, (s) => rclone(c, 'parallel-sweep', [sweepObject], s));
    const disk = await sweep('rclone parallel via disk', rcloneSettings, rcloneLabel, (s) => rclone(c, 'parallel-sweep', [sweepObject], s, true));
    const slowest = p.capBytesPerS / 2; // the stuck-run limit: half of one connection's cap
    const runs = await interleaved(c.args.rounds, {
      ours: () => ours(c, 'parallel', [e], { minBytesPerS: slowest }),
      single: c.args.ottSingleConfig && (() => ours(c, 'parallel-single', [e], { minBytesPerS: slowest, extraConfig: c.args.ottSingleConfig })),
      bare: bareBest.best && (() => bareParallel(c, 'parallel', e, bareBest.best!.setting, partMd5s)),
      direct: direct.best && (() => rclone(c, 'parallel', [e], direct.best!.setting)),
      disk: disk.best && (() => rclone(c, 'parallel', [e], disk.best!.setting, true)),
    });
    const O = fastest(runs.ours);
    const S = runs.single.length ? fastest(runs.single) : O;
    const rss = Math.max(...runs.ours.map((r) => r.peakRssMiB ?? Infinity));
    const rate = (r: Run): string => mibPerS(p.bytes, r.ms);
    const mib = p.bytes / MiB;
    const cpu = (r: Run): string => cpuPer(r, mib, 'ms', 1);
    const label = `one ${sizeText(p.bytes)} object, CDN capped at ${sizeText(p.capBytesPerS)}/s per connection, fastest of ${plural(c.args.rounds, 'interleaved round')}`;
    const settings = Object.keys(c.args.ottConfig).length ? `config ${JSON.stringify(c.args.ottConfig)}` : 'the default config';
    // Without a baseline run, ours is its own baseline only if it read in one stream (one GET).
    const baseline = c.args.ottSingleConfig !== undefined || O.cdnGets <= 1;
    const singleText = c.args.ottSingleConfig
      ? `${rateRatio(O.ms, S.ms)} of our single stream (${JSON.stringify(c.args.ottSingleConfig)}: ${rate(S)}, ${plural(S.cdnGets, 'CDN GET')}) (target >= 4x ${verdict(S.ms / O.ms >= 4)})`
      : baseline
        ? `ours read in one stream (no --ott-single-config): 1.00x of our single stream (target >= 4x ${verdict(false)})`
        : `our single stream not measured: ours made ${plural(O.cdnGets, 'CDN GET')}, give --ott-single-config (target >= 4x not judged)`;
    const B = runs.bare.length ? fastest(runs.bare) : undefined;
    const bareText = B ? `${rateRatio(O.ms, B.ms)} of the bare parallel-range loop (target >= 0.8x ${verdict(B.ms / O.ms >= 0.8)})` : `bare parallel loop not measured (${bareBest.failed})`;
    const shown: Shown = { O, rate, cpu, rounds: c.args.rounds, sweepBytes: sweepObject.size };
    const lines = [
      `- cdnTransfer parallel (${label}): ours (${settings}) ${rate(O)} in ${plural(O.cdnGets, 'CDN GET')}, peak RSS ${rss} MiB (target < 256 MiB ${verdict(rss < 256)}); ` +
        `${singleText}; ${bareText} -- ${CMD}`,
      B
        ? `- cdnTransfer parallel, bare parallel-range loop: ranged GETs through the signed URL, each streamed as a part of a GCS XML API multipart upload with Content-MD5 (${sizeText(p.partBytes)} parts, ${Math.ceil(p.bytes / p.partBytes)} of them, MD5 checked per part): ` +
          `best ${bareBest.best!.setting} parts in flight of ${p.streams.join('/')}, ${rate(B)}, ${rateRatio(B.ms, O.ms)} of ours, CPU per MiB ${cpu(B)} (ours ${cpu(O)}) -- ${CMD}`
        : `- cdnTransfer parallel, bare parallel-range loop: failed (${bareBest.failed}) -- ${CMD}`,
      rcloneLine('rclone 1.60 :http: -> gcs:', direct, runs.direct, shown),
      rcloneLine('rclone 1.60 in two steps through a local disk (:http: -> disk, where --multi-thread-streams applies, then disk -> gcs:, which checks MD5)', disk, runs.disk, shown),
      `- cdnTransfer parallel, fixture servers' CPU per MiB: during ours ${fixturesPer(O, mib, 'ms', 1)}${B ? `; bare parallel ${fixturesPer(B, mib, 'ms', 1)}` : ''} -- ${CMD}`,
    ];
    emit('parallel', lines);
  } finally {
    await clearThrottle(c.w.cdn);
  }
}

interface Shown {
  O: Run;
  rate: (r: Run) => string;
  cpu: (r: Run) => string;
  rounds: number;
  sweepBytes: number;
}

function rcloneLine(what: string, swept: Swept<RcloneSetting>, runs: Run[], s: Shown): string {
  if (!runs.length) return `- cdnTransfer parallel vs ${what}: not measured, every setting failed (${swept.failed}) -- ${CMD}`;
  const R = fastest(runs);
  return (
    `- cdnTransfer parallel vs ${what}: ours ${rateRatio(s.O.ms, R.ms)} of its rate at its best, \`${rcloneLabel(swept.best!.setting)}\` ` +
    `(fastest of ${plural(swept.tried, 'setting')} swept on a ${sizeText(s.sweepBytes)} object, then ${plural(s.rounds, 'round')} like ours: ${s.rate(R)} in ${plural(R.cdnGets, 'CDN GET')}, CPU per MiB ${s.cpu(R)}; unsigned) -- ${CMD}`
  );
}
