// `npm run chaos [-- --objects N] [--rounds N] [--keep] [--no-record]`: issue 14's chaos run on a private
// local cloud (its own MariaDB, which the run stops and starts). Prints the problems and, per bad key,
// what is known about it, then one closing line: objects, faults injected, minutes, verdict. A full-size
// run (10,000 objects or more) on a quiet machine writes that line to bench/RESULTS.md (bench/results.ts,
// the one writer); smaller runs, e.g. `--objects 500` while iterating, print it only. Exit 0 on PASS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../../test/stack/index.js';
import { writeResults } from '../results.js';
import { runChaos } from './chaos.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`Expected \`${name}\` to be an integer from 1 and up, got \`${process.argv[i + 1]}\``);
  return v;
}

const t0 = Date.now();
const say = (text: string): void => void process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(7)}s] ${text}\n`);

const USAGE = `npm run chaos -- [--objects N] [--rounds N] [--keep] [--no-record]
  --objects N   objects in the source (default 10000; from 10000 the big tail holds a 64 MiB + 1 B object)
  --rounds N    rounds of dump/publish/copy/check/repair at most, until ott status says done (default 6)
  --keep        keep every process's log and report.json even on PASS (always kept on FAIL)
  --no-record   print the closing line only, never write it to bench/RESULTS.md
  env OTT_CHAOS_VERBOSE=1 echoes the processes' interesting log lines`;

async function main(): Promise<number> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const objects = arg('--objects', 10_000);
  const maxRounds = arg('--rounds', 6);
  const keep = process.argv.includes('--keep');
  const record = !process.argv.includes('--no-record');
  say(`starting a private local cloud (its MariaDB will be stopped and restarted mid-run)`);
  const stack = await startStack();
  Object.assign(process.env, stack.env);
  const logDir = mkdtempSync(join(tmpdir(), 'ott-chaos-logs-'));
  say(`every process's log goes to ${logDir}${keep ? '' : ' (removed on PASS; kept on FAIL or with --keep)'}`);
  let pass = false;
  try {
    const r = await runChaos({ objects, env: stack.env, prefix: 'ott-chaos', logDir, maxRounds, say, echo: process.env.OTT_CHAOS_VERBOSE ? (l, t) => say(`  ${l}: ${t}`) : undefined });
    pass = r.pass;
    writeFileSync(join(logDir, 'report.json'), JSON.stringify(r, null, 2));
    const out: string[] = ['', '================ chaos run ================'];
    out.push(`status after ${r.rounds} round(s): ${r.converged ? 'done' : 'NOT done'}`);
    out.push(`error topic: ${r.errorTopic.messages} message(s)${r.errorTopic.sample.length ? `: ${r.errorTopic.sample.join(' | ')}` : ''}`);
    if (r.verdict?.rcloneUnseen.length) out.push(`rclone check did not report on ${r.verdict.rcloneUnseen.length > 1 ? 'these S3 objects' : 'this S3 object'} (keys rclone 1.60 cannot name; the MD5 pass covers them): ${r.verdict.rcloneUnseen.slice(0, 10).join(', ')}`);
    if (r.faults.unfired) out.push(`${r.faults.unfired} planned fault rule(s) never fired (the run made fewer matching requests than their place in the plan): ${r.faults.unfiredRules.join('; ')}`);
    if (r.events.notDone.length) out.push(`planned but not done: ${r.events.notDone.join('; ')}`);
    if (r.failedExits.length) {
      out.push(`processes that failed on their own (${r.failedExits.length}):`);
      for (const e of r.failedExits.slice(0, 20)) out.push(`  ${e.label} (ott ${e.argv.join(' ')}): exit ${e.signal ?? e.code}; ${e.lastLines.join(' | ').slice(0, 300)}; log ${e.logFile}`);
    }
    if (r.problems.length) {
      out.push('problems:');
      for (const p of r.problems) out.push(`  - ${p}`);
    }
    if (r.diagnosis.length) {
      out.push(`bad keys (${r.diagnosis.length}):`);
      for (const d of r.diagnosis.slice(0, 60)) out.push(`  ${d}`);
      if (r.diagnosis.length > 60) out.push(`  ... ${r.diagnosis.length - 60} more in ${join(logDir, 'report.json')}`);
    }
    out.push(`report: ${join(logDir, 'report.json')}`);
    process.stdout.write(out.join('\n') + '\n');
    // The closing line, through the one writer of bench/RESULTS.md (written only at full size on a quiet machine).
    writeResults('chaos', [`- ${r.line} -- \`npm run chaos\``], { print: !record || objects < 10_000 });
    return pass ? 0 : 1;
  } finally {
    await stack.stop();
    if (pass && !keep) rmSync(logDir, { recursive: true, force: true });
  }
}

const code = await main().catch((err: Error) => {
  say(`chaos: FAILED to run: ${err.stack ?? err.message}`);
  return 1;
});
process.exit(code);
