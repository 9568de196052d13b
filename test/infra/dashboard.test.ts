// The fleet view in Cloud Monitoring, checked offline: the dashboard JSON (infra/terraform/dashboard.json,
// rendered as Terraform's templatefile would) is valid, laid out on its grid, and charts only metrics the
// code exports (names and labels read from the prom-client registry in src/common/metrics.ts), with the
// charts of `ott dashboard`; the Ops Agent config scrapes them, and the startup script's rewrite of its
// targets gives each worker process's port.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportedNames, registry } from '../../src/common/metrics.js';
import { INFRA_DIR, loadTerraform, TF_DIR, type Block, type TfModule } from './hcl.js';

const run = promisify(execFile);

interface DataSet {
  timeSeriesQuery: { prometheusQuery?: string };
  plotType: string;
  legendTemplate?: string;
}
interface Tile {
  xPos?: number;
  yPos?: number;
  width: number;
  height: number;
  widget: { title: string; xyChart?: { dataSets: DataSet[] } };
}
interface Dashboard {
  displayName: string;
  mosaicLayout: { columns: number; tiles: Tile[] };
}

let tf: TfModule;
let template: string;
let dash: Dashboard;
let queries: string[];
beforeAll(async () => {
  tf = await loadTerraform();
  template = await readFile(`${TF_DIR}dashboard.json`, 'utf8');
  dash = JSON.parse(template.replaceAll('${name_prefix}', 'ott')) as Dashboard;
  queries = dash.mosaicLayout.tiles.flatMap((t) => (t.widget.xyChart?.dataSets ?? []).map((d) => d.timeSeriesQuery.prometheusQuery ?? ''));
});

describe('the Cloud Monitoring dashboard (infra/terraform/dashboard.json)', () => {
  it('is a google_monitoring_dashboard rendered from the file with the variables it uses', () => {
    const r = tf.resources.google_monitoring_dashboard?.fleet as Block;
    expect(r.dashboard_json).toBe('${templatefile("${path.module}/dashboard.json", { name_prefix = var.name_prefix })}');
    // templatefile fails on a placeholder it is not given, and %{ would start a directive.
    expect([...new Set([...template.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]))]).toEqual(['name_prefix']);
    expect(template).not.toContain('%{');
  });

  it('is valid JSON on a 48-column grid: every tile inside it, none overlapping, each a titled chart of PromQL queries', () => {
    const { columns, tiles } = dash.mosaicLayout;
    expect(columns).toBe(48);
    expect(tiles.length).toBeGreaterThanOrEqual(6);
    const cells = new Set<string>();
    for (const t of tiles) {
      const x = t.xPos ?? 0;
      const y = t.yPos ?? 0;
      expect(x + t.width, t.widget.title).toBeLessThanOrEqual(columns);
      for (let i = x; i < x + t.width; i++) for (let j = y; j < y + t.height; j++) {
        expect(cells.has(`${i},${j}`), `${t.widget.title} overlaps another tile`).toBe(false);
        cells.add(`${i},${j}`);
      }
      expect(t.widget.title.length).toBeGreaterThan(5);
      expect(t.widget.xyChart?.dataSets.length, t.widget.title).toBeGreaterThan(0);
      for (const d of t.widget.xyChart!.dataSets) {
        expect(d.timeSeriesQuery.prometheusQuery, t.widget.title).toMatch(/\S/);
        expect(d.plotType).toBe('LINE');
      }
    }
  });

  it('charts only metrics the code exports, by labels those metrics carry', async () => {
    const exported = new Set(await exportedNames());
    const labels = new Map(registry.getMetricsAsArray().map((m) => [m.name, new Set(['mode', ...((m as unknown as { labelNames: string[] }).labelNames ?? [])])]));
    const used = new Set<string>();
    for (const q of queries) {
      for (const [, name] of q.matchAll(/\b(ott_[a-z0-9_]+)/g)) {
        expect(exported.has(name), `${name} in "${q}" is not exported by src/common/metrics.ts`).toBe(true);
        used.add(name);
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const known = new Set([...(labels.get(base) ?? []), ...(name.endsWith('_bucket') ? ['le'] : [])]);
        const selector = new RegExp(`${name}\\{([^}]*)\\}`).exec(q)?.[1];
        for (const [, l] of (selector ?? '').matchAll(/([a-z_]+)\s*=~?/g)) expect(known.has(l), `${name}{${l}} in "${q}"`).toBe(true);
      }
      // Each `by (...)` groups by labels of the series it aggregates.
      const names = [...q.matchAll(/\b(ott_[a-z0-9_]+)/g)].map((m) => m[1]);
      if (!names.length) continue;
      const allowed = new Set(names.flatMap((n) => [...(labels.get(n.replace(/_(bucket|sum|count)$/, '')) ?? []), ...(n.endsWith('_bucket') ? ['le'] : [])]));
      for (const [, by] of q.matchAll(/\bby \(([^)]*)\)/g)) for (const l of by.split(',').map((s) => s.trim())) expect(allowed.has(l), `by (${l}) in "${q}"`).toBe(true);
    }
    // The charts of `ott dashboard`: objects/s, MiB/s, failures by reason, in flight, ack latency.
    expect(queries).toEqual(expect.arrayContaining(['sum by (mode) (rate(ott_objects_copied_total[5m]))', 'sum by (mode) (rate(ott_bytes_copied_total[5m])) / 1048576', 'sum by (reason) (rate(ott_objects_failed_total[5m])) * 60']));
    for (const n of ['ott_objects_in_flight', 'ott_pubsub_ack_latency_seconds_bucket', 'ott_copy_seconds_bucket', 'ott_retries_total', 'ott_lease_renewals_total', 'ott_published_keys_total']) expect(used.has(n), n).toBe(true);
  });

  it("charts the backlog of the workers' subscriptions as pubsub.tf names them", () => {
    const backlog = queries.find((q) => q.includes('subscription_num_undelivered_messages'));
    expect(backlog).toContain('subscription_id=~"ott-.*-workers"');
    // Every worker subscription matches the pattern, rendered with the default prefix and each mode's slug.
    expect(String(tf.locals.name)).toMatch(/subscription\s+= "\$\{var\.name_prefix\}-\$\{m\.slug\}-workers"/);
    const prefix = tf.variables.name_prefix.default as string;
    for (const m of Object.values(tf.locals.modes as Record<string, { slug: string }>)) expect(`${prefix}-${m.slug}-workers`).toMatch(/^ott-.*-workers$/);
  });
});

describe('the Ops Agent scrapes each process (infra/image/ops-agent.yaml, the startup script)', () => {
  it('has a Prometheus receiver in its own metrics pipeline, with the rewritable targets line', async () => {
    const yaml = await readFile(`${INFRA_DIR}image/ops-agent.yaml`, 'utf8');
    expect(yaml).toMatch(/ott_prometheus:\n\s+type: prometheus\n\s+config:\n\s+scrape_configs:\n\s+- job_name: ott\n/);
    expect(yaml).toMatch(/metrics_path: \/metrics\n/);
    expect(yaml).toMatch(/^ {14}- targets: \["localhost:9466", "localhost:9467"\] # ott-metrics-targets$/m);
    expect(yaml).toMatch(/ott:\n\s+receivers: \[ott_prometheus\]/);
    expect(yaml).toMatch(/default_pipeline:\n\s+receivers: \[hostmetrics\]/);
  });

  it("passes each mode's port to the worker and rewrites the agent's targets to every process's port", async () => {
    expect(String(tf.locals.worker_flags)).toContain('--metrics-port ${var.metrics_ports[mode]}');
    const script = /<<-EOT\n([\s\S]*?)\n\s*EOT/.exec(String(tf.locals.startup_script))![1];
    const part = /^\s*targets='\$\{local\.metrics_targets\[mode\]\}'\n[\s\S]*?\n\s*fi$/m.exec(script)![0];
    const ports = (tf.variables.metrics_ports.default as Record<string, number>).cdnTransfer;
    const processes = (tf.variables.worker_processes.default as Record<string, number>).cdnTransfer;
    // What local.metrics_targets renders for cdnTransfer (jsonencode of localhost:port+i).
    const targets = JSON.stringify(Array.from({ length: processes }, (_, i) => `localhost:${ports + i}`));
    expect(String(tf.locals.metrics_targets)).toContain('jsonencode([for i in range(mode == "cdnTransfer" ? var.worker_processes[mode] : 1) : "localhost:${var.metrics_ports[mode] + i}"])');
    const tmp = await mkdtemp(join(tmpdir(), 'ott-opsagent-'));
    try {
      const config = join(tmp, 'config.yaml');
      await writeFile(config, await readFile(`${INFRA_DIR}image/ops-agent.yaml`, 'utf8'));
      const bash = part.replace('${local.metrics_targets[mode]}', targets).replace('/etc/google-cloud-ops-agent/config.yaml', config).replace('systemctl restart google-cloud-ops-agent', 'echo restarted');
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', bash]);
      expect(stdout.trim()).toBe('restarted');
      const line = (await readFile(config, 'utf8')).split('\n').find((l) => l.includes('# ott-metrics-targets'))!;
      const listed = JSON.parse(/- targets: (\[.*\]) # ott-metrics-targets$/.exec(line)![1]) as string[];
      expect(listed).toEqual(Array.from({ length: processes }, (_, i) => `localhost:${ports + i}`));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
