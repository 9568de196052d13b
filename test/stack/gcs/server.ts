// The GCS JSON API emulator's entry point: `server.ts --port N [--dir D] [--discard]`.
// --dir keeps object bytes there; --discard keeps only metadata and hashes (benchmarks: no disk at all).
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { FaultTable } from '../faults.js';
import { GcsError } from './errors.js';
import { Exchange } from './exchange.js';
import { route } from './routes.js';
import { Store } from './store.js';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, dir: { type: 'string' }, discard: { type: 'boolean', default: false } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0) throw new Error(`--port: expected a TCP port, got ${JSON.stringify(values.port)}`);
if (!values.discard && !values.dir) throw new Error('--dir is required unless --discard is given');

const store = new Store(values.discard ? undefined : values.dir);
const faults = new FaultTable();

const server = createServer({ keepAlive: true }, (req, res) => {
  store.stats.requests++;
  const ex = new Exchange(req, res, faults);
  route(ex, store, faults).catch((err: unknown) => {
    if (err instanceof GcsError) return ex.sendError(err);
    // Socket gone (client abort, injected reset): nothing to answer.
    if (req.destroyed || res.destroyed) return;
    console.error(`${req.method} ${req.url}:`, err);
    ex.sendError(new GcsError(500, 'backendError', `emulator error: ${(err as Error).message}`));
  });
});
// Clients pool connections for longer than Node's 5 s default; closing under them causes spurious resets.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0;
// Only listening fails this way (EADDRINUSE): exit, so the starter reports it instead of waiting.
server.once('error', (err) => {
  console.error('gcs emulator: cannot listen:', err);
  process.exit(1);
});
server.listen(port, values.host, () => console.log(`gcs emulator on http://${values.host}:${port} (${values.discard ? 'discard' : `dir ${values.dir}`})`));
// One bad request must not take every other test's emulator down with it: log it loudly, keep serving.
process.on('uncaughtException', (err) => console.error('gcs emulator: uncaught exception:', err));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
