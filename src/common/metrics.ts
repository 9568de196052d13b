// Prometheus metrics (prom-client): one registry per process, its metrics, and the HTTP server that serves
// them (`--metrics-port` / metrics_port; none unless asked for). Each metric is fed from the one place its
// event already happens: outcomes from the throughput-history accumulator (worker/history.ts), acks from the
// consumer's settle (worker/delivery.ts), retries from the retry layer (common/retry.ts), lease renewals
// from the two renewers (state/withClaim.ts, publisher/loop.ts), copy latency and in-flight objects from the
// one copy path (worker/copy/copier.ts), publishes from the topic (publisher/topic.ts).
// Labels are bounded: the process's mode (a default label set at start), reason classes, outcomes, lease
// kinds. Never a key, a subfolder, a URL or anything secret.
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConfigError } from './config/validate.js';
import type { ReasonClass } from './errors.js';
import type { Logger } from './log.js';

export const registry = new Registry();
const registers = [registry];

const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers });
const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
const histogram = <L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) => new Histogram<L>({ name, help, buckets, labelNames, registers });

/** Seconds: from a small object's copy to a multi-GiB one's; from a prompt ack to an hour-long rsync. */
const COPY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const ACK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** A value of a histogram as prom-client's registry formats it (one line of the exposition). */
interface HistogramValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  /** None kept (prom-client's null on bucket lines). */
  exemplar?: null;
}

/**
 * A histogram with one label (`outcome`) observed once per object on the copy path. prom-client's
 * Histogram hashes the label set and keys each bucket by its bound as a string on every observe (~6 us of
 * CPU per small object, measured in bench/transfer's profile); this one counts in an array per label
 * value and answers the registry with values in prom-client's own shape (getForPromString for the text
 * exposition, get for JSON), so the exposition is prom-client's, line for line (test/metrics/histogram.test.ts).
 */
export class OutcomeHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['outcome'] as const;
  private readonly series = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(outcome: string, seconds: number): void {
    let s = this.series.get(outcome);
    if (!s) this.series.set(outcome, (s = { buckets: this.bounds.map(() => 0), sum: 0, count: 0 }));
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    if (i < b.length) s.buckets[i]++;
    s.sum += seconds;
    s.count++;
  }

  getForPromString(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [outcome, s] of this.series) {
      const shared = { outcome };
      let acc = 0;
      this.bounds.forEach((le, i) => values.push({ labels: { le }, sharedLabels: shared, value: (acc += s.buckets[i]), metricName: bucket, exemplar: null }));
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The JSON form (registry.getMetricsAsJSON): each value's labels whole, as prom-client's Histogram gives them. */
  async get(): Promise<Omit<ReturnType<OutcomeHistogram['getForPromString']>, 'values'> & { values: Array<Omit<HistogramValue, 'sharedLabels'>> }> {
    const r = this.getForPromString();
    return { ...r, values: r.values.map(({ sharedLabels, ...v }) => ({ ...v, labels: { ...v.labels, ...sharedLabels } })) };
  }

  reset(): void {
    this.series.clear();
  }
}

function outcomeHistogram(name: string, help: string, buckets: number[]): OutcomeHistogram {
  const h = new OutcomeHistogram(name, help, buckets);
  for (const r of registers) r.registerMetric(h as unknown as Parameters<Registry['registerMetric']>[0]);
  return h;
}

let copiesInFlight = 0;

export const m = {
  copiedObjects: counter('ott_objects_copied_total', 'Objects copied to GCS and verified'),
  copiedBytes: counter('ott_bytes_copied_total', 'Bytes of the objects copied to GCS and verified'),
  skippedObjects: counter('ott_objects_skipped_total', 'Objects already in GCS (not copied again)'),
  skippedBytes: counter('ott_bytes_skipped_total', 'Bytes of the objects already in GCS'),
  failedObjects: counter('ott_objects_failed_total', 'Objects that failed after their retries, by reason class', ['reason']),
  archivedObjects: counter('ott_objects_archived_total', 'Of the failed objects, those archived in S3 (restore them first)'),
  // Read on scrape from a plain count the copy path keeps (a Gauge's inc/dec hashes its labels each time).
  objectsInFlight: new Gauge({
    name: 'ott_objects_in_flight',
    help: 'Objects being copied now',
    registers,
    collect() {
      this.set(copiesInFlight);
    },
  }),
  copySeconds: outcomeHistogram('ott_copy_seconds', 'Time to copy (or skip, or fail) one object, by outcome', COPY_BUCKETS),
  retries: counter('ott_retries_total', 'Retries taken by the retry layer, by reason class', ['reason']),
  leaseRenewals: counter('ott_lease_renewals_total', 'Lease renewal statements, by lease (subfolder, publish) and result (renewed, lost, failed)', ['lease', 'result']),
  claims: counter('ott_claims_total', 'Rows claimed, by lease (subfolder: a worker claim, publish: a publisher claim)', ['lease']),
  subfolders: counter('ott_subfolders_total', 'Subfolder messages worked on by syncCheck / rsync, by outcome', ['outcome']),
  messages: counter('ott_pubsub_messages_total', 'Pub/Sub messages settled, by result (acked, nacked, deferred)', ['result']),
  messagesInFlight: gauge('ott_pubsub_messages_in_flight', 'Pub/Sub messages being handled now'),
  ackSeconds: histogram('ott_pubsub_ack_latency_seconds', 'Time from receiving a Pub/Sub message to acking it', ACK_BUCKETS),
  publishedMessages: counter('ott_published_messages_total', 'Messages Pub/Sub acknowledged to a publisher, by kind (objects, dir)', ['kind']),
  publishedKeys: counter('ott_published_keys_total', 'Keys in the messages Pub/Sub acknowledged: objects (kind objects) or subfolders (kind dir)', ['kind']),
};

/** What the throughput history adds; the same fields as state/history.ts's Activity. */
export interface ActivityDelta {
  copiedObjects?: number;
  copiedBytes?: number;
  skippedObjects?: number;
  skippedBytes?: number;
  failedObjects?: number;
  archivedObjects?: number;
}

/** Outcomes as the history accumulator takes them; `reason` is the failures' reason class. */
export function recordActivity(a: ActivityDelta, reason: ReasonClass = 'other'): void {
  if (a.copiedObjects) m.copiedObjects.inc(a.copiedObjects);
  if (a.copiedBytes) m.copiedBytes.inc(a.copiedBytes);
  if (a.skippedObjects) m.skippedObjects.inc(a.skippedObjects);
  if (a.skippedBytes) m.skippedBytes.inc(a.skippedBytes);
  if (a.failedObjects) m.failedObjects.inc({ reason }, a.failedObjects);
  if (a.archivedObjects) m.archivedObjects.inc(a.archivedObjects);
}

/** Times one object through the copy path and counts it in flight meanwhile. */
export async function timedCopy<T extends { status: string }>(copy: () => Promise<T>): Promise<T> {
  const started = performance.now();
  copiesInFlight++;
  try {
    const o = await copy();
    m.copySeconds.observe(o.status, (performance.now() - started) / 1000);
    return o;
  } catch (err) {
    m.copySeconds.observe('threw', (performance.now() - started) / 1000);
    throw err;
  } finally {
    copiesInFlight--;
  }
}

/** Every metric name the registry exposes (histograms also as _bucket, _sum, _count), for tests and docs. */
export async function exportedNames(): Promise<string[]> {
  const names = (await registry.getMetricsAsJSON()).flatMap((x) => (String(x.type) === 'histogram' ? [x.name, `${x.name}_bucket`, `${x.name}_sum`, `${x.name}_count`] : [x.name]));
  return names.sort();
}

export interface MetricsSettings {
  /** 1..65535; undefined: no server. */
  port?: number;
  /** The address to listen on; 127.0.0.1 unless told (the Ops Agent scrapes from the same VM). */
  bind?: string;
}

export interface MetricsServer {
  /** http://BIND:PORT/metrics */
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_METRICS_BIND = '127.0.0.1';

/** Checks a port and an address from the flags or the config; a bad one is a config error naming it. */
export function checkMetricsSettings(s: MetricsSettings, source: { port: string; bind: string }): Required<MetricsSettings> | undefined {
  if (s.port === undefined) return undefined;
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new ConfigError(`${source.port}: expected a TCP port from 1 to 65535, got \`${s.port}\``, [source.port]);
  const bind = s.bind ?? DEFAULT_METRICS_BIND;
  if (!isIP(bind)) throw new ConfigError(`${source.bind}: expected an IP address to listen on, such as 127.0.0.1, got \`${bind}\``, [source.bind]);
  return { port: s.port, bind };
}

let defaultsCollected = false;

/**
 * Serves GET /metrics on bind:port for this process's mode (a label on every series) with the default
 * process metrics. Rejects with a message saying which port is taken, so two modes (or two processes of
 * cdnTransfer, which use port + slot) set to the same port fail at start instead of one going unscraped.
 */
export async function startMetricsServer(mode: string, s: Required<MetricsSettings>, log: Logger): Promise<MetricsServer> {
  registry.setDefaultLabels({ mode });
  if (!defaultsCollected) {
    collectDefaultMetrics({ register: registry });
    defaultsCollected = true;
  }
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  const host = s.bind.includes(':') ? `[${s.bind}]` : s.bind;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use (another process, or another ott mode given the same --metrics-port / metrics_port)' : err.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : err.message;
      reject(new Error(`${mode}: cannot serve metrics on ${host}:${s.port}: ${why}`, { cause: err }));
    });
    server.listen(s.port, s.bind, () => resolve());
  });
  server.on('error', (err) => log.warn(`${mode}: metrics server error`, { error: err }));
  const url = `http://${host}:${s.port}/metrics`;
  log.info(`${mode}: serving Prometheus metrics`, { metrics_url: url });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
