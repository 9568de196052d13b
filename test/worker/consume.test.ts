// consume() on the real Pub/Sub emulator: after the stop, a handler still running when the grace period
// ends has its signal aborted (the hard stop) and its message nacked; a handler that ignores its signal
// does not keep the consumer from returning; either message is redelivered and handled by the next run.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { consume, type ConsumeStats, type Handler, type Settle } from '../../src/worker/consume.js';
import { testContext, type TestCtx } from '../helpers/context.js';
import { uniqueName } from '../helpers/names.js';
import { pubsub } from './cdnTransferHarness.js';

const schema = z.object({ dir_key: z.string(), n: z.number() });
let subscription = '';
let topic = '';

beforeAll(async () => {
  topic = uniqueName('consume');
  const [t] = await pubsub.createTopic(topic);
  subscription = `${topic}-sub`;
  await t.createSubscription(subscription, { ackDeadlineSeconds: 10 });
});

async function context(): Promise<TestCtx> {
  return testContext('consume', { pubsub_subscription_id: subscription });
}

const publishOne = (n: number): Promise<string> => pubsub.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify({ dir_key: `d/${n}/`, n })) });

async function until(what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The next run: acks whatever arrives until idle, returning the `n`s it saw. */
async function redelivered(): Promise<number[]> {
  const ctx = await context();
  const seen: number[] = [];
  const s = await consume(ctx, { mode: 'test', schema, concurrency: 4, maxExtensionMs: 60_000, graceMs: 1000, idleExitMs: 1500, handle: async (d) => (seen.push(d.message.n), 'ack') });
  expect(s.acked).toBe(seen.length);
  await ctx.db.end();
  return seen;
}

/** Publishes one message, consumes it with `handle` until the handler started, then stops as SIGTERM does. */
async function stopWhileHandling(ctx: TestCtx, n: number, handle: Handler<z.infer<typeof schema>>, opts: { graceMs: number; hardStopWaitMs?: number }): Promise<ConsumeStats> {
  await publishOne(n);
  let started = false;
  const running = consume(ctx, { mode: 'test', schema, concurrency: 2, maxExtensionMs: 60_000, ...opts, handle: (d) => ((started = true), handle(d)) });
  await until('the handler to start', () => started);
  ctx.abort();
  return running;
}

describe('consume() hard stop', () => {
  it('aborts the signal of a handler still running when the grace period ends; its message is nacked and redelivered', async () => {
    const ctx = await context();
    let reason: unknown;
    const waitForAbort: Handler<z.infer<typeof schema>> = (d) => new Promise<Settle>((resolve) => d.signal.addEventListener('abort', () => ((reason = d.signal.reason), resolve('nack')), { once: true }));
    const s = await stopWhileHandling(ctx, 1, waitForAbort, { graceMs: 300 });
    expect(String((reason as Error)?.message)).toMatch(/grace period over/);
    expect(s).toMatchObject({ received: 1, acked: 0, nacked: 1 });
    expect(ctx.logs.some((l) => l.includes('test: stopping') && l.includes('shutdown signal'))).toBe(true);
    expect(await redelivered()).toEqual([1]);
    await ctx.db.end();
  });

  it('returns even when a handler ignores its signal: its message is nacked after the hard stop, and a late ack is ignored', async () => {
    const ctx = await context();
    let release: (s: Settle) => void = () => undefined;
    const s = await stopWhileHandling(ctx, 2, () => new Promise<Settle>((resolve) => (release = resolve)), { graceMs: 200, hardStopWaitMs: 200 });
    release('ack'); // too late: already nacked
    expect(s).toMatchObject({ received: 1, acked: 0, nacked: 1 });
    expect(ctx.logs.some((l) => l.includes('1 handler(s) still running 200 ms after the hard stop'))).toBe(true);
    expect(await redelivered()).toEqual([2]);
    await ctx.db.end();
  });
});

describe('consume() start', () => {
  it('logs its started line once the Pub/Sub client is built and its stub made, with only the stream left to open', async () => {
    const ctx = await context();
    const api = (ctx.clients.pubsub() as unknown as { api: Record<string, { subscriberStub?: unknown } | undefined> }).api;
    expect(api.SubscriberClient).toBeUndefined();
    let builtWhenStarted: boolean | undefined;
    const push = ctx.logs.push.bind(ctx.logs);
    ctx.logs.push = (...lines: string[]): number => {
      if (lines.some((l) => l.includes('"test: started"'))) builtWhenStarted = api.SubscriberClient?.subscriberStub !== undefined;
      return push(...lines);
    };
    const s = await consume(ctx, { mode: 'test', schema, concurrency: 1, maxExtensionMs: 60_000, graceMs: 100, idleExitMs: 300, handle: async () => 'ack' });
    expect(builtWhenStarted).toBe(true);
    expect(s.received).toBe(0);
    await ctx.db.end();
  });
});
