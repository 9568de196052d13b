// The metrics flags of the workers and publishers (src/common/metrics.ts serves them): --metrics-port and
// --metrics-bind, over config metrics_port / metrics_bind. No port from either: no server.
import type { Argv } from 'yargs';
import type { Config } from '../common/config/schema.js';
import { checkMetricsSettings, type MetricsSettings } from '../common/metrics.js';
import type { GlobalArgs } from './runMode.js';

export interface MetricsCliArgs {
  metricsPort?: number;
  metricsBind?: string;
  /** cdnTransfer --processes N: the child's slot (0..N-1), set by the parent; its port is the base + slot. */
  processSlot?: number;
}

export function metricsOptions<T extends GlobalArgs>(y: Argv<T>): Argv<T> {
  return y
    .option('metrics-port', { type: 'number', describe: 'serve Prometheus metrics on http://BIND:PORT/metrics (default: config metrics_port; unset: no server)' })
    .option('metrics-bind', { type: 'string', describe: 'the address the metrics server listens on (default: config metrics_bind, 127.0.0.1)' }) as unknown as Argv<T>;
}

/** Where this process serves its metrics, checked; undefined when no port is set. */
export function metricsSettings(config: Readonly<Config>, a: MetricsCliArgs): Required<MetricsSettings> | undefined {
  const fromFlag = a.metricsPort !== undefined;
  const base = checkMetricsSettings(
    { port: a.metricsPort ?? config.metrics_port, bind: a.metricsBind ?? config.metrics_bind },
    { port: fromFlag ? '--metrics-port' : 'metrics_port', bind: a.metricsBind !== undefined ? '--metrics-bind' : 'metrics_bind' },
  );
  if (!base || !a.processSlot) return base;
  return checkMetricsSettings({ port: base.port + a.processSlot, bind: base.bind }, { port: `${fromFlag ? '--metrics-port' : 'metrics_port'} + process slot ${a.processSlot}`, bind: '--metrics-bind' });
}
