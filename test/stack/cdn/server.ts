// The CloudFront fixture: `node server.ts --port P --s3 http://127.0.0.1:S3PORT [--bytes-per-second-per-connection N]`.
//
// Layout: GET|HEAD /<bucket>/<key>, one "distribution" per S3 bucket (plus the synthetic origin under
// /__synthetic/<sizeBytes>/...). The path is taken raw from the request line and decoded per segment,
// never through WHATWG URL, which would fold `.`/`..` segments that are part of S3 keys.
// Control: /__trusted-keys (POST, GET, DELETE ?bucket=B), /__faults (faults.ts), /__stats (GET, DELETE),
// /__throttle (POST {"bytesPerSecondPerConnection": N}, GET, DELETE: the per-connection cap of throttle.ts).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultTable } from '../faults.js';
import { newStats, readJson, sendJson, TrustedKeys } from './control.js';
import { deliverBody, type BodyFault } from './deliver.js';
import { fetchSynthetic, S3Origin, type OriginResponse } from './origin.js';
import { edgeHeaders, sendEdgeError, sendXmlError } from './responses.js';
import { resourceUrl, verifySignedRequest } from './signature.js';
import { SYNTHETIC_BUCKET } from './synthetic.js';
import { ConnectionThrottle } from './throttle.js';

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : process.argv[i + 1];
  if (!v) throw new Error(`cdn fixture: missing --${name}; usage: server.ts --port PORT --s3 http://127.0.0.1:S3PORT`);
  return v;
}

const port = Number(arg('port'));
const s3 = new S3Origin(arg('s3'));
const capAt = process.argv.indexOf('--bytes-per-second-per-connection');
const throttle = new ConnectionThrottle(capAt === -1 ? undefined : Number(process.argv[capAt + 1]));
const trusted = new TrustedKeys();
const faults = new FaultTable();
let stats = newStats();

/** `/<bucket>/<key>` decoded per segment as CloudFront and S3 decode it; undefined if a segment is not valid percent-encoding. */
function parseTarget(rawPath: string): { bucket: string; key: string } | undefined {
  try {
    const segments = rawPath.slice(1).split('/').map(decodeURIComponent);
    return { bucket: segments[0], key: segments.slice(1).join('/') };
  } catch {
    return undefined;
  }
}

async function handleObject(req: IncomingMessage, res: ServerResponse, rawUrl: string): Promise<void> {
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const head = method === 'HEAD';
  stats.requests++;
  stats[head ? 'head' : 'get']++;
  stats.inFlight++;
  res.once('close', () => {
    stats.inFlight--;
    // A connection reset before any response byte counts as "none", not as the default 200.
    const status = res.headersSent ? String(res.statusCode) : 'none';
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  });
  const q = rawUrl.indexOf('?');
  const target = parseTarget(q === -1 ? rawUrl : rawUrl.slice(0, q));
  if (!target || target.bucket === '') return sendXmlError(res, 400, 'InvalidURI', "Couldn't parse the specified URI.", head);
  const { bucket } = target;
  let { key } = target;

  const keys = trusted.forBucket(bucket);
  if (keys) {
    const { url, params } = resourceUrl(req.headers.host ?? `127.0.0.1:${port}`, rawUrl);
    const verdict = verifySignedRequest({ resourceUrl: url, params, sourceIp: req.socket.remoteAddress ?? '', nowEpochSeconds: Math.floor(Date.now() / 1000) }, keys);
    if (!verdict.ok) {
      stats.signatureDenied++;
      return sendXmlError(res, 403, verdict.code, verdict.message, head);
    }
  }

  const fault = faults.take({ method, op: head ? 'head' : 'get', bucket, key });
  let bodyFault: BodyFault | undefined;
  let viewer = req.headers;
  if (fault) {
    stats.faultsApplied++;
    if ('delayMs' in fault) await sleep(fault.delayMs);
    if ('status' in fault) return sendEdgeError(res, fault.status, fault.message, head);
    if ('reset' in fault && fault.reset === 'before-response') {
      req.socket.resetAndDestroy();
      return;
    }
    if ('reset' in fault) bodyFault = 'reset-mid-body';
    if ('truncate' in fault) bodyFault = 'truncate';
    if ('corrupt' in fault) bodyFault = 'corrupt';
    if ('serveKey' in fault) key = fault.serveKey;
    if ('ignoreRange' in fault) viewer = { ...req.headers, range: undefined };
  }

  const abort = new AbortController();
  res.once('close', () => abort.abort());
  let origin: OriginResponse;
  try {
    origin = bucket === SYNTHETIC_BUCKET ? await fetchSynthetic(method, key, viewer.range) : await s3.fetch(method, bucket, key, viewer, abort.signal);
  } catch (err) {
    if (res.destroyed) return;
    console.error(`origin fetch failed for ${bucket}/${key}:`, err);
    return sendEdgeError(res, 502, undefined, head);
  }
  const ok = origin.status === 200 || origin.status === 206;
  res.writeHead(origin.status, { ...origin.headers, server: 'AmazonS3', ...edgeHeaders(origin.status >= 400 ? 'Error' : 'Miss') });
  if (!origin.body) {
    res.end();
    return;
  }
  const declared = origin.headers['content-length'] === undefined ? undefined : Number(origin.headers['content-length']);
  const pace = throttle.bytesPerSecondPerConnection === undefined ? undefined : (body: AsyncIterable<Buffer>) => throttle.paced(body, req.socket);
  await deliverBody(
    res,
    origin.body,
    declared,
    ok ? bodyFault : undefined,
    (n) => {
      stats.bytesSent += n;
    },
    pace,
  );
}

async function handleControl(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  const m = req.method;
  if (path === '/__trusted-keys') {
    if (m === 'POST') {
      trusted.add(await readJson(req));
      return sendJson(res, 200, trusted.list());
    }
    if (m === 'GET') return sendJson(res, 200, trusted.list());
    if (m === 'DELETE') {
      trusted.clear(query.get('bucket') ?? undefined);
      return sendJson(res, 204, undefined);
    }
  } else if (path === '/__faults') {
    if (m === 'POST') return sendJson(res, 200, { ids: faults.add(await readJson(req)) });
    if (m === 'GET') return sendJson(res, 200, faults.list(query.get('bucket') ?? undefined));
    if (m === 'DELETE') {
      faults.clear(query.get('bucket') ?? undefined);
      return sendJson(res, 204, undefined);
    }
  } else if (path === '/__throttle') {
    if (m === 'POST') throttle.set(await readJson(req));
    else if (m === 'DELETE') throttle.clear();
    if (m === 'POST' || m === 'DELETE' || m === 'GET') return sendJson(res, 200, { bytesPerSecondPerConnection: throttle.bytesPerSecondPerConnection ?? null });
  } else if (path === '/__stats') {
    if (m === 'GET') return sendJson(res, 200, stats);
    if (m === 'DELETE') {
      stats = { ...newStats(), inFlight: stats.inFlight };
      return sendJson(res, 204, undefined);
    }
  }
  return sendJson(res, 405, { error: `${m} ${path} is not a control operation` });
}

const CONTROL = new Set(['/__trusted-keys', '/__faults', '/__stats', '/__throttle']);

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const work = CONTROL.has(path)
    ? handleControl(req, res, path, new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1)))
    : req.method === 'GET' || req.method === 'HEAD'
      ? handleObject(req, res, rawUrl)
      : Promise.resolve(
          sendEdgeError(res, 403, 'This distribution is not configured to allow the HTTP request method that was used for this request. The distribution supports only cachable requests.', false),
        );
  work.catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (!res.headersSent) sendJson(res, 400, { error: message });
    else res.destroy();
  });
});

server.listen(port, '127.0.0.1', () => console.log(`cdn fixture on http://127.0.0.1:${port}, origin ${arg('s3')}`));

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void s3.close().finally(() => process.exit(0));
});
