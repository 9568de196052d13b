// `ott dashboard` during a real run (issue 17, part 2): a real `ott cdnTransfer` process copies from S3
// (through the CDN fixture) to the GCS emulator, fed by Pub/Sub, while the dashboard is open in chromium.
// No history row is written by the test: the chart moves only because the worker writes its per-minute
// history on its heartbeat (heartbeat_seconds: 1 here, the production setting's lower end). Objects arrive
// in two waves, so the page must show the first wave copied and then the second, without a reload. When the
// worker has exited and its counters are flushed, the page's numbers are `ott status --json`'s; the copies
// themselves are judged through the SDKs (test/helpers/compareCopies.ts), not through our own counters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.js';
import { alive } from '../helpers/processes.js';
import { startDashboard } from '../helpers/dashboard.js';
import { compareCopies } from '../helpers/compareCopies.js';
import { createWorld, publish, putObject, worldContext, type World } from '../worker/cdnTransferHarness.js';
import { spawnOtt, type OttProcess } from '../../demo/index.js';
import type { TestCtx } from '../helpers/context.js';
import type { ObjectEntry } from '../../src/common/messages.js';

const exec = promisify(execFile);
const T = 'transfer_state';
const WAVES = [['data/a/'], ['data/b/', 'data/c/']];
const PER_DIR = 8;
let w: World;
let ctx: TestCtx;
let base: string[];
let dash: ChildProcess | undefined;
let worker: OttProcess | undefined;
let url: string;
let logDir: string;
let dir: string;
let passed = false;
const objects = new Map<string, ObjectEntry[]>();

beforeAll(async () => {
  // heartbeat_seconds: how often a worker writes its per-minute throughput history (src/worker/history.ts).
  w = await createWorld('dashlive', { heartbeat_seconds: 1, mysql_table: T });
  ctx = await worldContext(w);
  for (const dirKey of WAVES.flat()) {
    const list: ObjectEntry[] = [];
    for (let i = 0; i < PER_DIR; i++) list.push(await putObject(w, `${dirKey}obj-${i}.bin`, 20_000 + i * 1_000));
    objects.set(dirKey, list);
    // The row as the objects-list publisher leaves it: flagged, with what it published.
    await ctx.db.query(
      `INSERT INTO ${T} (dir_key, dir_key_sha, cdn_transfer_published, initial_transfer, published_objects, published_bytes) VALUES (?, UNHEX(SHA2(?, 256)), 1, 0, ?, ?)`,
      [dirKey, dirKey, list.length, list.reduce((a, o) => a + o.size, 0)],
    );
  }
  dir = mkdtempSync(join(tmpdir(), 'ott-dashlive-'));
  logDir = join(dir, 'logs');
  mkdirSync(logDir);
  writeFileSync(join(dir, 'creds.json'), JSON.stringify(ctx.secrets));
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ ...w.config, credentials_file: join(dir, 'creds.json') }));
  base = [join(process.cwd(), 'bin/ott.mjs'), '--config', join(dir, 'cfg.json'), '--gcp-project', 'ott-local'];
  ({ child: dash, url } = await startDashboard(base, ['--port', '0', '--refresh-seconds', '1']));
}, 120_000);

afterAll(async () => {
  await worker?.stop('SIGTERM', 5_000);
  dash?.kill('SIGTERM');
  if (dash?.pid) await alive([dash.pid]);
  await ctx?.db.end();
  // A failed run keeps the worker's log (its path is in the failure); a passing one leaves nothing behind.
  if (passed) rmSync(dir, { recursive: true, force: true });
});

/** What the page shows now: objects in GCS (its KPI card), the objects chart's data, and the history it is drawn from. */
async function shown(page: Page): Promise<{ gcsObjects: number; chartSum: number; points: number; historyCopied: number }> {
  const kpi = await page.locator('.kpi', { has: page.locator('.label', { hasText: 'Objects in GCS' }) }).locator('.value').innerText();
  const chart = page.locator('#chart-objects');
  const history = await page.evaluate(async () => (await (await fetch('api/overview')).json()).history.minutes.modes.cdnTransfer?.copiedObjects as number[] | undefined);
  return {
    gcsObjects: Number(kpi.replace(/\D/g, '')),
    chartSum: Number(await chart.getAttribute('data-sum')),
    points: Number(await chart.getAttribute('data-points')),
    historyCopied: (history ?? []).reduce((a, n) => a + n, 0),
  };
}

/** Polls the page until `ok` holds (the page refreshes itself every second); fails with the last view. */
async function waitShown(page: Page, ok: (s: Awaited<ReturnType<typeof shown>>) => boolean): Promise<Awaited<ReturnType<typeof shown>>> {
  let last: Awaited<ReturnType<typeof shown>> | undefined;
  await expect.poll(async () => ok((last = await shown(page))) || last, { timeout: 60_000, interval: 500 }).toBe(true);
  return last!;
}

describe('ott dashboard during a real cdnTransfer run', () => {
  it('counts and chart grow without a reload as the worker copies; settled, they are status --json', { timeout: 150_000 }, async () => {
    const b = await launchBrowser();
    try {
      const page = await b.context.newPage();
      await page.goto(url);
      await page.waitForSelector('#app[data-updates]');
      await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
      expect(await shown(page)).toEqual({ gcsObjects: 0, chartSum: 0, points: 0, historyCopied: 0 });

      worker = spawnOtt('cdnTransfer', [...base.slice(1), 'cdnTransfer', '--processes', '1'], { env: {}, logDir });
      // The chart plots rates (objects/s over each minute, the current one over its elapsed seconds), which
      // may fall as a minute wears on; what must grow is the count behind them, the history the page is fed.
      const seen: { gcsObjects: number; chartSum: number; points: number; historyCopied: number }[] = [];
      let total = 0;
      for (const wave of WAVES) {
        for (const dirKey of wave) await publish(w, dirKey, objects.get(dirKey)!);
        total += wave.length * PER_DIR;
        // The wave copied, on the page as it refreshes itself: objects in GCS, and a chart redrawn from the
        // worker's history, which now counts the wave.
        const before = seen.at(-1) ?? { chartSum: 0, points: 0 };
        const now = await waitShown(page, (s) => s.gcsObjects === total && s.historyCopied === total && s.points > 0 && (s.chartSum !== before.chartSum || s.points !== before.points));
        seen.push(now);
      }
      expect(seen.map((s) => [s.gcsObjects, s.historyCopied])).toEqual([[PER_DIR, PER_DIR], [3 * PER_DIR, 3 * PER_DIR]]);
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42); // no reload

      // The operator stops the worker (SIGTERM, as on the VMs): it flushes its counters and history, exits 0.
      // (Not --idle-exit-seconds: the pause between the waves, longer on a loaded machine, could end it early.)
      const exit = await worker.stop('SIGTERM', 30_000);
      expect(exit, `${worker.logFile}:\n${worker.lines.slice(-8).join('\n')}`).toEqual({ code: 0, signal: null });

      // Settled: the page's Overview is `ott status --json`'s, and its chart holds every object the worker copied.
      const status = JSON.parse((await exec(process.execPath, [...base, 'status', '--json'])).stdout);
      const o = await page.evaluate(async () => (await fetch('api/overview')).json());
      for (const k of ['phases', 'total', 'claims', 'failedObjects', 'excluded', 'recentErrors', 'goneFromS3']) expect(o.status[k], k).toEqual(status[k]);
      expect(status.total.gcsObjects).toBe(3 * PER_DIR);
      await waitShown(page, (s) => s.gcsObjects === status.total.gcsObjects && s.historyCopied === 3 * PER_DIR);
      const totalRow = await page.locator('#phases tbody tr').last().innerText();
      expect(totalRow.split('\t').map((c) => c.trim())).toEqual(['total', String(status.total.subfolders), expect.any(String), expect.any(String), String(status.total.s3Objects), String(status.total.gcsObjects)]);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
    } finally {
      await b.close();
    }

    // The copies, judged from outside: both buckets listed and downloaded through the SDKs.
    const v = await compareCopies({ s3Bucket: w.s3Bucket, s3Prefix: 'data/', gcsBucket: w.gcsBucket, gcsPrefix: 'copy/' });
    expect({ missing: v.missing, different: v.different, extra: v.extra }).toEqual({ missing: [], different: [], extra: [] });
    expect(v.objects).toBe(3 * PER_DIR);
    passed = true;
  });
});
