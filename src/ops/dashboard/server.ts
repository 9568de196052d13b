// `ott dashboard`'s web server (node:http): one page, its assets, `/api/overview` (the Overview as JSON)
// and `/api/events` (server-sent events: a fresh Overview every refresh). Read-only: it only ever calls
// readOverview. One poller serves every open page, and reads only while a page is open, so ten browser
// tabs cost MySQL what one does. Binds 127.0.0.1 unless told otherwise (operators come through an SSH or
// IAP tunnel); on loopback it also answers only to loopback Host names, so a web page elsewhere cannot
// read it through DNS rebinding. Stops on the process's one AbortSignal.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../../common/db.js';
import type { Logger } from '../../common/log.js';
import { redact } from '../../common/redact.js';
import { toError } from '../../common/errors.js';
import { readOverview } from '../overview.js';
import { DASHBOARD_JS } from './client.js';
import { DASHBOARD_CSS } from './style.js';
import { LIVE_CSP, renderLivePage, uplotAssets } from './page.js';

export interface DashboardOptions {
  port: number;
  bind: string;
  refreshSeconds: number;
}

export interface Dashboard {
  url: string;
  /** Resolves once the server has closed (the signal aborted, or close() called). */
  closed: Promise<void>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': LIVE_CSP };

/** The Overview as sent: redacted (a ledger message quoting a signed URL loses its signature). */
const overviewJson = async (db: Db, table: string): Promise<string> => redact(JSON.stringify(await readOverview(db, table)));

export async function startDashboard(deps: { db: Db; table: string; log: Logger; signal: AbortSignal }, opts: DashboardOptions): Promise<Dashboard> {
  const { db, table, log, signal } = deps;
  const u = uplotAssets();
  const assets: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', renderLivePage()],
    '/app.js': ['text/javascript; charset=utf-8', DASHBOARD_JS],
    '/app.css': ['text/css; charset=utf-8', DASHBOARD_CSS],
    '/uplot.js': ['text/javascript; charset=utf-8', u.js],
    '/uplot.css': ['text/css; charset=utf-8', u.css],
  };
  const streams = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let reading = false;

  /**
   * Reads once and sends to every open stream; a failed read is shown on the page and tried next tick.
   * One read at a time: a page opened during a read gets that read's frame.
   */
  const tick = async (): Promise<void> => {
    if (reading) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!streams.size || signal.aborted) return;
    reading = true;
    let frame: string;
    try {
      frame = `event: overview\ndata: ${await overviewJson(db, table)}\n\n`;
    } catch (err) {
      const message = redact(`cannot read the state from MySQL: ${toError(err).message}; retrying in ${opts.refreshSeconds} s`);
      log.warn(message);
      frame = `event: problem\ndata: ${JSON.stringify({ message })}\n\n`;
    }
    reading = false;
    for (const s of streams) s.write(frame);
    if (streams.size && !signal.aborted) timer = setTimeout(() => void tick(), opts.refreshSeconds * 1000);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (LOOPBACK.has(opts.bind) && !LOOPBACK.has(host)) return send(res, 421, 'text/plain', 'this dashboard answers only to localhost (reach it through a tunnel)\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only\n');
    const asset = assets[path];
    if (asset) return send(res, 200, asset[0], asset[1]);
    if (path === '/api/overview') return send(res, 200, 'application/json', await overviewJson(db, table));
    if (path === '/api/events') {
      res.writeHead(200, { ...HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
      res.write(`retry: ${opts.refreshSeconds * 1000}\n\n`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      // A new page gets its first Overview now, not at the next tick.
      void tick();
      return;
    }
    send(res, 404, 'text/plain', 'not found\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn(redact(`dashboard: ${req.url ?? ''} failed: ${toError(err).message}`));
      if (!res.headersSent) send(res, 500, 'text/plain', 'cannot read the state from MySQL; see the dashboard log\n');
      else res.end();
    });
  });
  await listen(server, opts);
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}/`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      if (timer) clearTimeout(timer);
      for (const s of streams) s.end();
      streams.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  signal.addEventListener('abort', () => void close(), { once: true });
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  return { url, closed, close };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** listen(), with a taken port or a bad address said plainly instead of an unhandled 'error' event. */
function listen(server: Server, opts: DashboardOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why =
        err.code === 'EADDRINUSE' ? `port ${opts.port} on ${opts.bind} is taken (another dashboard?); pick another with --port`
        : err.code === 'EADDRNOTAVAIL' ? `${opts.bind} is not an address of this machine (--bind)`
        : err.code === 'EACCES' ? `no permission to listen on port ${opts.port} (ports below 1024 need root)`
        : `cannot listen on ${opts.bind}:${opts.port}: ${err.message}`;
      reject(new Error(`ott dashboard: ${why}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.port, opts.bind, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
