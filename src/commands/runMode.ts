// The shared life of a command: build the context, run the mode, log its summary, close everything, and
// turn a failure into one clear line and a non-zero exit code (never a stack-trace crash loop).
import type { ArgumentsCamelCase } from 'yargs';
import { closeContext, createContext, type Ctx } from '../common/context.js';
import { ConfigError } from '../common/config/validate.js';
import { redact } from '../common/redact.js';
import { startMetricsServer, type MetricsServer } from '../common/metrics.js';
import { metricsSettings, type MetricsCliArgs } from './metricsOptions.js';

export interface GlobalArgs {
  gcpProject?: string;
  configKey?: string;
  config?: string;
}

/** `metrics`: the mode serves Prometheus metrics when its flags or config give a port (metricsOptions.ts). */
export async function runMode<T>(mode: string, argv: ArgumentsCamelCase<GlobalArgs>, fn: (ctx: Ctx) => Promise<T>, opts: { metrics?: MetricsCliArgs } = {}): Promise<void> {
  let ctx: Ctx | undefined;
  let metrics: MetricsServer | undefined;
  try {
    ctx = await createContext({ mode, file: argv.config, configKey: argv.configKey, gcpProject: argv.gcpProject });
    const served = opts.metrics && metricsSettings(ctx.config, opts.metrics);
    if (served) metrics = await startMetricsServer(mode, served, ctx.log);
    const summary = await fn(ctx);
    ctx.log.info(`${mode} finished`, { summary });
  } catch (err) {
    reportFailure(mode, err, ctx);
    process.exitCode = err instanceof ConfigError ? 78 : 1; // 78: EX_CONFIG, so systemd units can tell
  } finally {
    await metrics?.close();
    if (ctx) await closeContext(ctx);
  }
}

export function reportFailure(mode: string, err: unknown, ctx?: Ctx): void {
  const e = err instanceof Error ? err : new Error(String(err));
  if (ctx) ctx.log.error(`${mode} failed: ${e.message}`, { error: e });
  else process.stderr.write(redact(`ott ${mode}: ${e.message}\n`));
}
