// The chaos run of issue 14 at test size (bench/chaos, what `npm run chaos` runs at 10,000 objects): the
// real CLI, one process per command, while the CDN and GCS fail in every way their fixtures can, two
// cdnTransfer workers are SIGKILLed mid-object, MariaDB is stopped and started, and S3 changes under the
// migration; then rounds until `ott status` says done. Judged by bench/chaos/verify.ts (MD5 of every object
// on both sides and rclone check, no code shared with src/). A private MariaDB, S3, GCS and CDN: this file
// stops its database and programs its fixtures' faults, which the other files must not feel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../stack/index.js';
import { uniqueName } from '../helpers/names.js';
import { runChaos, type ChaosReport } from '../../bench/chaos/chaos.js';

let stack: Stack;
const logDir = mkdtempSync(join(tmpdir(), 'ott-chaos-test-'));
let passed = false;

beforeAll(async () => {
  stack = await startStack({ only: ['mariadb', 's3', 'gcs', 'cdn'] });
  // The Google clients read STORAGE_EMULATOR_HOST from process.env: this file's GCS is the private one.
  Object.assign(process.env, stack.env);
});

afterAll(async () => {
  await stack?.stop();
  // Every process's log stays for a failed run (the failure message names the directory).
  if (passed) rmSync(logDir, { recursive: true, force: true });
});

describe('the chaos run, small', () => {
  it('ends with every in-scope object byte-identical, nothing extra, archived objects reported, status done and agreeing with the verifier', { timeout: 600_000 }, async () => {
    const progress: string[] = [];
    const say = (t: string): void => void progress.push(`[${new Date().toISOString().slice(11, 19)}] ${t}`);
    let r: ChaosReport;
    try {
      r = await runChaos({ objects: 120, env: { ...(process.env as Record<string, string>), ...stack.env }, prefix: uniqueName('chaos'), logDir, maxRounds: 2, workers: 1, outageSeconds: 5, ackDeadlineSeconds: 6, roundIdleExitSeconds: 3, say });
    } finally {
      if (process.env.OTT_CHAOS_VERBOSE) console.log(progress.join('\n'));
    }
    const story = `${r.line}\nlogs: ${logDir}\nprogress:\n${progress.join('\n')}`;
    // The chaos happened: both kills mid-object, the outage, the S3 changes, faults on both fixtures.
    expect(r.events.kills, story).toHaveLength(2);
    expect(r.events.outage, story).toBeDefined();
    expect(r.events.changes.map((c) => c.kind), story).toContain('overwritten-same-size');
    expect(r.faults.byName['CDN truncated body'], story).toBeGreaterThan(0);
    expect(r.faults.byName['GCS corrupted store'], story).toBeGreaterThan(0);
    // The verdict, with every bad key and what is known about it in the failure message.
    expect({ problems: r.problems, badKeys: r.diagnosis }, story).toEqual({ problems: [], badKeys: [] });
    expect(r.pass).toBe(true);
    passed = true;
  });
});
