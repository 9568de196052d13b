// Reading a process's /metrics as a scraper would: over HTTP, checked by promtool (Prometheus's own
// `promtool check metrics`, Debian's prometheus package) and parsed by parse-prometheus-text-format; no
// parser of ours. Plus a check that a process listens on no TCP port at all (metrics off by default).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import parse, { type ParsedFamily } from 'parse-prometheus-text-format';

export interface Scrape {
  text: string;
  families: Map<string, ParsedFamily>;
}

export async function scrape(port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics on ${port}: HTTP ${res.status}`);
  expectPrometheusContentType(res.headers.get('content-type'));
  const text = await res.text();
  // parse-prometheus-text-format 1.1.1 flattens a histogram's labelled series into one (its flattenMetrics
  // keeps only unlabelled counts): histograms are also read with their TYPE line left out, which makes their
  // _bucket, _sum and _count series plain (untyped) families, each sample with its labels.
  const histograms = new Set([...text.matchAll(/^# TYPE (\S+) histogram$/gm)].map((m) => m[1]));
  const untyped = text.replace(/^# TYPE \S+ histogram\n/gm, '');
  const families = new Map(parse(text).map((f) => [f.name, f]));
  // (Their _sum and _count lines alternate per label set, so one name comes back as several families: merged.)
  const parts = new Map<string, ParsedFamily>();
  for (const f of parse(untyped)) {
    if (f.name === f.name.replace(/_(bucket|sum|count)$/, '') || !histograms.has(f.name.replace(/_(bucket|sum|count)$/, ''))) continue;
    const into = parts.get(f.name);
    if (into) into.metrics.push(...f.metrics);
    else parts.set(f.name, { ...f, metrics: [...f.metrics] });
  }
  for (const [name, f] of parts) families.set(name, f);
  return { text, families };
}

function expectPrometheusContentType(ct: string | null): void {
  if (!ct?.startsWith('text/plain; version=0.0.4')) throw new Error(`unexpected content-type ${ct}`);
}

/**
 * `promtool check metrics` on the text: '' when it passes, else what it said. Exit 1 is a malformed
 * exposition: all of it is reported. Exit 3 lists lint problems, one metric a line: ours (ott_) must have
 * none; prom-client's default process metrics have known ones (gauges named nodejs_active_*_total), not ours to rename.
 */
export function promtoolProblems(text: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool could not run (install it: bash scripts/setup.sh): ${r.error.message}`);
  if (r.status === 0) return '';
  if (r.status !== 3) return `exit ${r.status}: ${r.stdout}${r.stderr}`;
  return `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.startsWith('ott_')).join('\n');
}

/** The sum of a counter's or gauge's samples whose labels include `match`. */
export function sum(s: Scrape, name: string, match: Record<string, string> = {}): number {
  const f = s.families.get(name);
  if (!f) return 0;
  return f.metrics.filter((x) => Object.entries(match).every(([k, v]) => x.labels?.[k] === v)).reduce((a, x) => a + Number(x.value ?? x.count ?? 0), 0);
}

/** Every label value in the scrape, for the "no key, no bucket, no URL" check. */
export function labelValues(s: Scrape): string[] {
  return [...s.families.values()].flatMap((f) => f.metrics.flatMap((x) => Object.values(x.labels ?? {})));
}

/** TCP ports `pid` listens on (its socket fds matched against /proc/net/tcp{,6} LISTEN rows). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) ports.push(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}
