// The objects-list claim reads its candidates from a random point of the table, not its start: dump
// inserts subfolders in key order, and claiming from the start would hand the workers one narrow stretch
// of names after another (GCS serves a hot key range from few servers). The random point is injected here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Holder } from '../../src/state/leases.js';
import { claimForPublish } from '../../src/state/publish.js';
import { seedRows } from './seed.js';
import { testContext, type TestCtx } from '../helpers/context.js';

let ctx: TestCtx;
const KEYS = Array.from({ length: 200 }, (_, i) => `data/k${String(i).padStart(3, '0')}/`);
const as = (owner: string): Holder => ({ db: ctx.db, table: 'transfer_state', owner, leaseSeconds: 900 });

beforeAll(async () => {
  ctx = await testContext('publishSpread', {});
  await seedRows(ctx.db, KEYS); // ids in key order, as dump inserts them
});
afterAll(async () => {
  await ctx.db.end();
});

describe('spread claims', () => {
  it('takes candidates from the random point on, not from the first rows', async () => {
    const { rows } = await claimForPublish(as('pub-mid'), 'cdn', 10, undefined, undefined, () => 0.5);
    expect(rows).toHaveLength(10);
    // candidates are the 40 rows from the middle on: k100..k139
    for (const r of rows) expect(r.dirKey >= 'data/k100/' && r.dirKey < 'data/k140/', r.dirKey).toBe(true);
  });

  it('wraps to the start when the rows after the point run short', async () => {
    const { rows } = await claimForPublish(as('pub-end'), 'cdn', 10, undefined, undefined, () => 0.99);
    expect(rows).toHaveLength(10);
    const keys = rows.map((r) => r.dirKey);
    // k198, k199 after the point, then from the start: k000 onwards
    expect(keys.some((k) => k < 'data/k040/')).toBe(true);
    expect(keys.every((k) => k < 'data/k040/' || k >= 'data/k198/')).toBe(true);
  });

  it('with the default random point, every claimable row is still claimed in the end, each once', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const { rows } = await claimForPublish(as(`pub-${i}`), 'cdn', 50);
      for (const r of rows) {
        expect(seen.has(r.dirKey)).toBe(false);
        seen.add(r.dirKey);
      }
      if (!rows.length) break;
    }
    expect(seen.size).toBe(KEYS.length - 20); // the 20 claimed above are held by live leases
  });
});
