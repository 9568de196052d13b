// Pure units of the per-message path every consumer mode shares (src/worker/delivery.ts), with stand-in
// messages: no listener stays behind on the long-lived stop signals however many messages pass, a handler
// that throws gets its message nacked (never acked), and each message is settled exactly once.
import { describe, expect, it } from 'vitest';
import { getEventListeners, setMaxListeners } from 'node:events';
import type { Message } from '@google-cloud/pubsub';
import { z } from 'zod';
import type { Ctx } from '../../src/common/context.js';
import { createDispatcher, linkedSignal, type Settle } from '../../src/worker/delivery.js';

const schema = z.object({ dir_key: z.string(), n: z.number() });
type Msg = z.infer<typeof schema>;

interface FakeMessage {
  id: string;
  data: Buffer;
  settled: Settle[];
  ack(): void;
  nack(): void;
}

function message(n: number, data = Buffer.from(JSON.stringify({ dir_key: `d/${n}/`, n }))): FakeMessage {
  const m: FakeMessage = { id: String(n), data, settled: [], ack: () => void m.settled.push('ack'), nack: () => void m.settled.push('nack') };
  return m;
}

function fakeCtx(logs: string[] = []): Ctx {
  const log = (level: string) => (msg: string) => void logs.push(`${level} ${msg}`);
  return { log: { debug: log('DEBUG'), info: log('INFO'), warn: log('WARN'), error: log('ERROR') }, config: { mysql_table: 't' }, workerId: 'w' } as unknown as Ctx;
}

function stops() {
  const soft = new AbortController();
  const hard = new AbortController();
  setMaxListeners(0, soft.signal, hard.signal); // as consume() does: one listener per message in flight
  return { soft, hard, signals: { soft: soft.signal, hard: hard.signal } };
}

const listeners = (s: AbortSignal): number => getEventListeners(s, 'abort').length;
/**
 * Everything a signal keeps per follower: its listeners, and Node's own per-signal collections (the
 * dependant-signal set AbortSignal.any adds to, which Node 20 never prunes: the leak this guards against).
 */
function retained(s: AbortSignal): number {
  const collections = Object.getOwnPropertySymbols(s)
    .map((k) => (s as unknown as Record<symbol, unknown>)[k])
    .filter((v): v is { size: number } => typeof v === 'object' && v !== null && typeof (v as { size?: unknown }).size === 'number');
  return collections.reduce((a, c) => a + c.size, 0);
}

describe('per-message signals', () => {
  it('leave no listener behind on the long-lived signals after 20,000 messages, and hold one per message in flight only', async () => {
    const s = stops();
    let peak = 0;
    let seen = 0;
    const d = createDispatcher<Msg>(fakeCtx(), {
      mode: 'test',
      schema,
      handle: async ({ signal, message: msg }) => {
        peak = Math.max(peak, listeners(s.hard.signal));
        expect(signal.aborted).toBe(false);
        seen += msg.n >= 0 ? 1 : 0;
        await new Promise((r) => setImmediate(r));
        return 'ack';
      },
    }, s.signals);
    const batch = 50;
    const all: FakeMessage[] = [];
    for (let i = 0; i < 20_000; i += batch) {
      const ms = Array.from({ length: batch }, (_, j) => message(i + j));
      all.push(...ms);
      await Promise.all(ms.map((m) => d.dispatch(m as unknown as Message)));
    }
    expect(seen).toBe(20_000);
    expect(peak).toBe(batch); // one listener per message in flight, no more
    expect(listeners(s.hard.signal)).toBe(0);
    expect(listeners(s.soft.signal)).toBe(0);
    expect(retained(s.hard.signal) + retained(s.soft.signal)).toBe(0);
    expect(d.inFlight).toBe(0);
    expect(all.every((m) => m.settled.length === 1 && m.settled[0] === 'ack')).toBe(true);
    expect(d.stats).toMatchObject({ received: 20_000, acked: 20_000, nacked: 0, threw: 0 });
  });

  it('a linked signal aborts with its parent while linked, and never after release()', () => {
    const parent = new AbortController();
    const linked = linkedSignal(parent.signal);
    const released = linkedSignal(parent.signal);
    released.release();
    expect(listeners(parent.signal)).toBe(1);
    parent.abort(new Error('grace period over'));
    expect(linked.signal.aborted).toBe(true);
    expect((linked.signal.reason as Error).message).toBe('grace period over');
    expect(released.signal.aborted).toBe(false);
    linked.release();
    expect(linkedSignal(parent.signal).signal.aborted).toBe(true); // linked after the abort: aborted at once
  });
});

describe('settling', () => {
  it('nacks the message of a handler that throws, reports it, and leaves no listener behind', async () => {
    const s = stops();
    s.soft.abort(new Error('stopping')); // no pacing pause before the nack: the consumer is stopping
    const logs: string[] = [];
    const d = createDispatcher<Msg>(fakeCtx(logs), { mode: 'test', schema, handle: async () => { throw new Error('ECONNREFUSED 127.0.0.1:3306'); } }, s.signals);
    const ms = Array.from({ length: 200 }, (_, i) => message(i));
    await Promise.all(ms.map((m) => d.dispatch(m as unknown as Message)));
    expect(ms.every((m) => m.settled.join() === 'nack')).toBe(true);
    expect(d.stats).toMatchObject({ received: 200, acked: 0, nacked: 200, threw: 200 });
    expect(logs.filter((l) => /^ERROR test: d\/0\/ failed: .*ECONNREFUSED.*nacked for redelivery/.test(l))).toHaveLength(1);
    expect(retained(s.hard.signal) + retained(s.soft.signal)).toBe(0);
  });

  it('settles once: a handler still running at the hard stop is nacked by abandon(), and its late ack is ignored', async () => {
    const s = stops();
    let finish: (v: Settle) => void = () => undefined;
    const d = createDispatcher<Msg>(fakeCtx(), { mode: 'test', schema, handle: () => new Promise<Settle>((r) => (finish = r)) }, s.signals);
    const m = message(1);
    const done = d.dispatch(m as unknown as Message);
    await new Promise((r) => setImmediate(r));
    s.hard.abort(new Error('grace period over'));
    expect(d.abandon()).toBe(1);
    finish('ack');
    await done;
    expect(m.settled).toEqual(['nack']);
    expect(d.stats).toMatchObject({ acked: 0, nacked: 1 });
  });

  it('a malformed message with no dead-letter or error topic configured is nacked, not acked into nothing', async () => {
    const s = stops();
    const d = createDispatcher<Msg>(fakeCtx(), { mode: 'test', schema, handle: async () => 'ack' }, s.signals);
    const bad = message(1, Buffer.from('{"dir_key":"d/1/"}'));
    await d.dispatch(bad as unknown as Message);
    expect(bad.settled).toEqual(['nack']);
    expect(d.stats).toMatchObject({ malformed: 1, acked: 0, nacked: 1 });
  });
});
