// The demo's window on itself: `ott dashboard` running beside the pipeline (its URL printed, open it while
// the stages run), and at the end the same page written as a file by `ott report --format html`. Both are
// optional extras: a checkout without either command runs the demo without them, and says so.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OttProcess } from './cli.js';
import { runOnce, startWorker, type RunContext } from './stageRunner.js';

/** Starts the dashboard (port OTT_DEMO_DASHBOARD_PORT, else any free one) and returns once its URL is known. */
export async function startDashboard(rc: RunContext): Promise<OttProcess | undefined> {
  if (!rc.commands.has('dashboard')) {
    rc.say('no `ott dashboard` in this checkout: running without the live page');
    return undefined;
  }
  const p = startWorker(rc, 'dashboard', 'objects', ['dashboard', '--port', process.env.OTT_DEMO_DASHBOARD_PORT ?? '0']);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !p.done()) {
    const url = p.lines.map((l) => /ott dashboard: (http:\/\/\S+)/.exec(l)?.[1]).find(Boolean);
    if (url) {
      rc.say(`live dashboard: ${url} (open it while the demo runs; through SSH: -L PORT:127.0.0.1:PORT)`);
      return p;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  rc.say(`the dashboard did not start (log ${p.logFile}); going on without it`);
  return undefined;
}

/** Writes the HTML report of the finished run into `dir`; returns its path, or undefined without `ott report`. */
export async function writeHtmlReport(rc: RunContext, dir: string): Promise<string | undefined> {
  if (!rc.commands.has('report')) {
    rc.say('no `ott report` in this checkout: no HTML report');
    return undefined;
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'ott-demo-report.html');
  await runOnce(rc, 'report-html', 'objects', ['report', '--format', 'html', '--out', file]);
  return file;
}
