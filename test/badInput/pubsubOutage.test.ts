// Bad-input catalogue (README.md in this folder), S6: Pub/Sub dies in the middle of a cdnTransfer run. A
// private emulator (the shared one serves every other file) is killed once the first object is copied:
// the worker warns that the stream broke, finishes what it holds, and still exits on idle (no hang).
// What it copied is in GCS byte-identical; what it could not ack stays on the subscription for redelivery
// (Pub/Sub's at-least-once), and a redelivered object is skipped as already there (catalogue D1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../stack/index.js';

let stack: Stack;
let harness: typeof import('../worker/cdnTransferHarness.js');
let cdnTransfer: typeof import('../../src/worker/cdnTransfer.js');

beforeAll(async () => {
  stack = await startStack({ only: ['pubsub'] });
  // Every Pub/Sub client of this file (the harness's and the worker's) talks to the private emulator.
  process.env.PUBSUB_EMULATOR_HOST = stack.env.PUBSUB_EMULATOR_HOST;
  harness = await import('../worker/cdnTransferHarness.js');
  cdnTransfer = await import('../../src/worker/cdnTransfer.js');
});

afterAll(async () => {
  await stack?.stop();
});

describe('bad-input catalogue: Pub/Sub dead mid-run', () => {
  it('S6 the emulator killed after the first copy: a WARNING, the copy kept, the run ends by itself', async () => {
    const { addDirRow, bytesFor, createWorld, publish, putObject, readGcs, worldContext } = harness;
    const w = await createWorld('badps', { max_attempts: 2, retry_budget_ms: 1000, grace_period_seconds: 1 });
    const ctx = await worldContext(w);
    const dir = 'data/ps/';
    await addDirRow(ctx, dir);
    const first = await putObject(w, `${dir}first.bin`, 50_000);
    await publish(w, dir, [first]);
    const running = cdnTransfer.run(ctx, { exitWhenIdleMs: 3000 });
    const deadline = Date.now() + 30_000;
    while (!(await readGcs(w, `copy/ps/first.bin`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await stack.stop(); // Pub/Sub gone: no more pulls, acks or error-topic publishes
    const s = await Promise.race([running, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('cdnTransfer hung after Pub/Sub died')), 90_000))]);
    expect(s).toMatchObject({ copied: 1, failed: 0 });
    expect((await readGcs(w, 'copy/ps/first.bin'))!.data.equals(bytesFor(first.key, first.size))).toBe(true);
    const warnings = ctx.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.message === 'cdnTransfer: Pub/Sub stream broke; the client reconnects');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ severity: 'WARNING', subscription: w.subscription });
    await ctx.db.end();
  });
});
