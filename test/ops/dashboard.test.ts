// `ott dashboard` as the real CLI, in Debian's chromium (playwright-core), on the stack's MariaDB: the page
// loads, its numbers are `ott status --json`'s, its chart grows as workers record what they copy (through
// the workers' own history statement) without a reload, an S3 key holding HTML shows as text and runs
// nothing, a taken port is said plainly, SIGTERM stops it. And `ott report --format html`, the same page
// as one file, opens from disk with the network cut, its charts drawn. Screenshots land in test-artifacts/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testContext, type TestCtx } from '../helpers/context.js';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.js';
import { alive } from '../helpers/processes.js';
import { startDashboard } from '../helpers/dashboard.js';
import { addSample, noActivity } from '../../src/state/history.js';
import { recordFailures } from '../../src/state/ledger.js';

const exec = promisify(execFile);
const T = 'transfer_state';
const HOSTILE = 'd/evil/<script>alert(1)</script><img src=x onerror=alert(2)>.bin';
const HOSTILE_DIR = 'd/<img src=x onerror=alert(3)>/';
let ctx: TestCtx;
let base: string[];
let dash: ChildProcess;
let url: string;

const startCli = (args: string[]): ReturnType<typeof startDashboard> => startDashboard(base, args);

const seed = (dirKey: string, cols: string): Promise<unknown> =>
  ctx.db.query(`INSERT INTO ${T} (dir_key, dir_key_sha, cdn_transfer_published, initial_transfer, ${cols.split('|')[0]}) VALUES (?, UNHEX(SHA2(?, 256)), 1, 0, ${cols.split('|')[1]})`, [dirKey, dirKey]);

beforeAll(async () => {
  ctx = await testContext('dashboard', { pubsub_subscription_id: 'unused' });
  await seed('d/a/', 'published_objects, published_bytes, copied_objects, copied_bytes|40, 40960, 10, 10240');
  await seed('d/equal/', 's3_size, gcs_size, s3_objects, gcs_objects, sync_check_frequency, sync_check_last_end|5000, 5000, 5, 5, 1, UTC_TIMESTAMP()');
  await seed(HOSTILE_DIR, "rsync_frequency, rsync_published, rsync_error|1, 1, 'gcloud: <script>alert(4)</script>'");
  await recordFailures(ctx.db, T, [{ entry: { key: HOSTILE, size: 3, etag: '"e"', last_modified: '2026-01-01T00:00:00Z' }, dirKey: 'd/evil/', mode: 'cdnTransfer', reasonClass: 'corrupt', message: 'hashes differ <b>bold</b> from https://cdn.example/k?Expires=1&Signature=SECRETSIG&Key-Pair-Id=K', attempts: 3, failures: 1 }]);
  const dir = mkdtempSync(join(tmpdir(), 'ott-dash-'));
  writeFileSync(join(dir, 'creds.json'), JSON.stringify({ mysql_config: ctx.secrets.mysql_config }));
  writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ mysql_table: T, credentials_file: join(dir, 'creds.json') }));
  base = [join(process.cwd(), 'bin/ott.mjs'), '--config', join(dir, 'cfg.json')];
  ({ child: dash, url } = await startCli(['--port', '0', '--refresh-seconds', '1']));
});

afterAll(async () => {
  if (dash?.pid) await alive([dash.pid]);
  await ctx?.db.end();
});

describe('ott dashboard in chromium', () => {
  it('loads, matches status --json, grows its chart without a reload, shows hostile keys as text', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const b = await launchBrowser();
    try {
      const page = await b.context.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      const res = await page.goto(url);
      expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.waitForSelector('#app[data-updates]');
      await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));

      // The numbers: the page's Overview and its screen against the CLI's status, nothing moving meanwhile.
      const status = JSON.parse((await exec(process.execPath, [...base, 'status', '--json'])).stdout);
      const shown = await page.evaluate(async () => (await fetch('api/overview')).json());
      for (const k of ['phases', 'total', 'claims', 'failedObjects', 'excluded', 'recentErrors', 'goneFromS3']) expect(shown.status[k]).toEqual(status[k]);
      const totalRow = await page.locator('#phases tbody tr').last().innerText();
      expect(totalRow.split('\t').map((c) => c.trim())).toEqual(['total', String(status.total.subfolders), expect.any(String), expect.any(String), String(status.total.s3Objects), String(status.total.gcsObjects)]);
      await expect.poll(() => page.locator('.kpi').first().innerText()).toContain(`${status.total.bytesPercentDone}%`);

      // Hostile keys and messages: text on the page, no element made of them, no dialog.
      await expect.poll(() => page.getByText(HOSTILE, { exact: true }).count()).toBe(1);
      expect(await page.getByText(HOSTILE_DIR, { exact: true }).count()).toBeGreaterThan(0);
      expect(await page.getByText('gcloud: <script>alert(4)</script>', { exact: true }).isVisible()).toBe(true);
      expect(await page.locator('#app script, #app img, #app b').count()).toBe(0);
      expect(await page.content()).not.toContain('SECRETSIG'); // a signed URL in a message loses its signature

      // Objects move: the worker's own per-minute write; the chart takes it in place.
      const chart = page.locator('#chart-objects');
      expect(await chart.getAttribute('data-points')).toBe('0');
      const w = { mode: 'cdnTransfer', workerId: 'vm-1', host: 'vm-1' };
      await addSample(ctx.db, T, w, { ...noActivity(), copiedObjects: 120, copiedBytes: 120 * 1048576 });
      await expect.poll(() => chart.getAttribute('data-points'), { timeout: 15_000 }).toBe('1');
      const before = Number(await chart.getAttribute('data-sum'));
      expect(before).toBeGreaterThan(0);
      await addSample(ctx.db, T, { ...w, workerId: 'vm-2', host: 'vm-2' }, { ...noActivity(), copiedObjects: 600, copiedBytes: 600 * 1048576 });
      await expect.poll(async () => Number(await chart.getAttribute('data-sum')), { timeout: 15_000 }).toBeGreaterThan(before);
      expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#workers tbody tr').count(), { timeout: 15_000 }).toBe(2);
      expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42); // no reload

      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      expect(dialogs).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('answers only to loopback names, says so when its port is taken, stops on SIGTERM', async () => {
    const port = new URL(url).port;
    // node:http, not fetch: fetch will not send a Host of our choosing (a rebinding page's browser does).
    const rebound = await new Promise<number>((resolve, reject) =>
      request(url, { headers: { host: `evil.example:${port}` } }, (r) => resolve(r.resume().statusCode!)).on('error', reject).end(),
    );
    expect(rebound).toBe(421);
    const taken = await startCli(['--port', port]).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; out: string }) => e,
    );
    expect(taken.code).toBe(1);
    expect(taken.out).toContain(`port ${port} on 127.0.0.1 is taken`);
    const exited = new Promise<number | null>((r) => dash.once('exit', (code) => r(code)));
    dash.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('ott report --format html: the same page as one file', () => {
  it('opens offline in chromium with its charts drawn and keys as text', async () => {
    // A few minutes of history, so the charts have lines to draw.
    for (const [ago, n] of [[4, 300], [3, 900], [2, 600]]) {
      await ctx.db.query(
        `INSERT INTO throughput_history (state_table, span_seconds, bucket_at, mode, worker_id, host, copied_objects, copied_bytes)
         VALUES (?, 60, DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL ? MINUTE, '%Y-%m-%d %H:%i:00'), 'cdnTransfer', 'vm-9', 'vm-9', ?, ?)`,
        [T, ago, n, n * 1048576],
      );
    }
    const file = join(ARTIFACTS, 'report.html');
    const made = await exec(process.execPath, [...base, 'report', '--format', 'html', '--out', file]);
    expect(made.stderr).toContain(`html written to ${file}`);
    const b = await launchBrowser();
    try {
      const requests: string[] = [];
      await b.context.setOffline(true);
      const page = await b.context.newPage();
      page.on('request', (r) => void (r.url().startsWith('file:') || requests.push(r.url())));
      const dialogs: string[] = [];
      page.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
      await page.goto(`file://${file}`);
      await page.waitForSelector('#chart-objects canvas');
      // Drawn: the chart's canvas holds pixels of the first series' colour (#1a73e8), not axes alone.
      const drawn = await page.evaluate(() => {
        const c = document.querySelector('#chart-objects canvas') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - 26) < 30 && Math.abs(d[i + 1] - 115) < 30 && Math.abs(d[i + 2] - 232) < 30 && d[i + 3] > 200) n++;
        return n;
      });
      expect(drawn).toBeGreaterThan(20);
      expect(await page.getByText(HOSTILE, { exact: true }).count()).toBe(1);
      expect(await page.content()).not.toContain('SECRETSIG');
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      expect(requests).toEqual([]);
      expect(dialogs).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
