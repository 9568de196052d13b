// The stack's control endpoint, so a process other than the one that started the stack (a chaos run,
// a test file in a vitest worker, a person with `npm run stack:ctl`) can give a service an outage and end
// it, while the services stay children of the stack and die with it. Plain HTTP on 127.0.0.1, exported as
// OTT_STACK_CONTROL:
//   GET  /services                 -> [{ name, restartable }]
//   POST /services/<name>/down     -> 204 once the service has stopped (port and data kept)
//   POST /services/<name>/up       -> 204 once it answers again
// Errors are JSON `{ error }` naming the service and what to do.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { StartedService } from './index.js';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(req: IncomingMessage, res: ServerResponse, services: () => StartedService[]): Promise<void> {
  for await (const chunk of req) void chunk;
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/services') {
    return send(res, 200, services().map((s) => ({ name: s.name, restartable: Boolean(s.down && s.up) })));
  }
  const m = /^\/services\/([^/]+)\/(down|up)$/.exec(path);
  if (req.method !== 'POST' || !m) return send(res, 404, { error: `${req.method} ${path}: use GET /services or POST /services/<name>/down|up` });
  const name = decodeURIComponent(m[1]);
  const svc = services().find((s) => s.name === name);
  if (!svc) return send(res, 404, { error: `no service "${name}" in this stack; it has ${services().map((s) => s.name).join(', ')}` });
  const action = m[2] === 'down' ? svc.down : svc.up;
  if (!action) return send(res, 409, { error: `service "${name}" cannot be taken down and brought back (only services with down/up can)` });
  await action.call(svc);
  send(res, 204);
}

/** Serves the control endpoint for the services `services()` returns at the time of each request. */
export async function startControl(services: () => StartedService[]): Promise<ControlServer> {
  const server = createServer((req, res) => {
    handle(req, res, services).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: `control request ${req.method} ${req.url} failed: ${(err as Error).message}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Client side: `await serviceOutage(url, 'mariadb', 'down')` (what `npm run stack:ctl` does). */
export async function serviceOutage(controlUrl: string, service: string, action: 'down' | 'up'): Promise<void> {
  const res = await fetch(`${controlUrl}/services/${encodeURIComponent(service)}/${action}`, { method: 'POST' });
  if (res.status !== 204) {
    const text = await res.text();
    let reason = text;
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* not JSON: show it as it came */
    }
    throw new Error(`stack control: ${action} ${service} answered ${res.status}: ${reason}`);
  }
}
