// OutcomeHistogram against prom-client's own Histogram: the same observations give the same exposition,
// text and JSON, line for line, with the registry's default labels too (a pure unit).
import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { OutcomeHistogram } from '../../src/common/metrics.js';

const BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

function pair(defaultLabels?: Record<string, string>): { theirs: Histogram<'outcome'>; ours: OutcomeHistogram; a: Registry; b: Registry } {
  const a = new Registry();
  const b = new Registry();
  if (defaultLabels) {
    a.setDefaultLabels(defaultLabels);
    b.setDefaultLabels(defaultLabels);
  }
  const theirs = new Histogram({ name: 'ott_copy_seconds', help: 'Time to copy one object, by outcome', buckets: BUCKETS, labelNames: ['outcome'], registers: [a] });
  const ours = new OutcomeHistogram('ott_copy_seconds', 'Time to copy one object, by outcome', BUCKETS);
  b.registerMetric(ours as unknown as Parameters<Registry['registerMetric']>[0]);
  return { theirs, ours, a, b };
}

describe('OutcomeHistogram', () => {
  it('exposes what prom-client exposes for the same observations (bounds included, beyond the last, several outcomes)', async () => {
    for (const labels of [undefined, { mode: 'cdnTransfer' }]) {
      const { theirs, ours, a, b } = pair(labels);
      expect(await b.metrics()).toBe(await a.metrics()); // nothing observed yet
      const seen: Array<[string, number]> = [];
      for (const v of [0, 0.05, 0.050001, 0.1, 0.3, 1, 2.5, 7, 1800, 1800.5, 9999]) seen.push(['copied', v]);
      for (const v of [0.2, 61, 0.01]) seen.push(['failed', v]);
      seen.push(['skipped', 0.04], ['copied', 0.07]);
      for (const [outcome, v] of seen) {
        theirs.labels({ outcome }).observe(v);
        ours.observe(outcome, v);
      }
      const text = await b.metrics();
      expect(text).toBe(await a.metrics());
      expect(text).toMatch(/^ott_copy_seconds_bucket\{le="0.05",(mode="cdnTransfer",)?outcome="copied"\} 2$/m);
      expect(await b.getMetricsAsJSON()).toEqual(await a.getMetricsAsJSON());
      b.resetMetrics();
      a.resetMetrics();
      expect(await b.metrics()).toBe(await a.metrics());
    }
  });
});
