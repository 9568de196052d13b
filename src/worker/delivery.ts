// One message through a mode's handler, the same way for every mode: decode it with the mode's schema (a
// malformed one goes to deadLetter()), hand the handler the message and a signal of its own, and settle
// the message exactly once. The rule: a message is acked only when its handler says so. A handler that
// throws could not even record what happened (MySQL down, Pub/Sub refusing): its message is reported to
// the error topic and NACKED for redelivery, never acked and dropped.
import { setMaxListeners } from 'node:events';
import type { Message } from '@google-cloud/pubsub';
import type { z } from 'zod';
import type { Ctx } from '../common/context.js';
import { classify, toError } from '../common/errors.js';
import { decodeMessage, MAX_MESSAGE_BYTES } from '../common/messages.js';
import { backoffMs, sleep } from '../common/retry.js';
import { m as metrics } from '../common/metrics.js';
import { deadLetter, reportError } from './errorTopic.js';

/**
 * `ack`, `nack` (redelivered at once, or after the subscription's retry backoff), or `later`: redelivered
 * no sooner than `seconds` from now (at most 600, Pub/Sub's longest ack deadline), for work that cannot
 * start yet (a subfolder another worker holds) and must neither be dropped nor come straight back.
 */
export type Settle = 'ack' | 'nack' | { later: { seconds: number } };

/** What a handler gets for one message. */
export interface Delivery<T> {
  message: T;
  /** Pub/Sub's message id, for logs. */
  id: string;
  /** Aborts only at the hard stop (the grace period is over): end the work, return 'nack' or throw. */
  signal: AbortSignal;
  /** True once the consumer is stopping: work not started yet is better left to the redelivery. */
  stopping(): boolean;
  /** Pub/Sub's delivery attempt (1 for the first) when the subscription has a dead-letter policy; 0 otherwise. */
  deliveryAttempt: number;
}

/** Resolves 'ack' once the message's work is done or recorded, 'nack' to have it redelivered. */
export type Handler<T> = (d: Delivery<T>) => Promise<Settle>;

export interface DispatchOptions<T> {
  /** The mode, in logs and error messages. */
  mode: string;
  schema: z.ZodType<T>;
  handle: Handler<T>;
}

export interface ConsumeStats {
  /** Messages handed to the mode (malformed ones included), not those nacked because it was stopping. */
  received: number;
  acked: number;
  nacked: number;
  /** Settled `later` (counted apart from nacked). */
  deferred: number;
  malformed: number;
  /** Handler throws (each nacked). */
  threw: number;
  seconds: number;
}

export interface Stops {
  /** Stopping: nothing new starts. */
  soft: AbortSignal;
  /** Grace over: every handler's signal aborts. */
  hard: AbortSignal;
}

export interface Dispatcher {
  /** Handles and settles one message; never rejects. */
  dispatch(m: Message): Promise<void>;
  /** Nacks a message that is not handled here (it arrived while stopping, or was never handed over). */
  nack(m: Message): void;
  readonly inFlight: number;
  /** Resolves once every message dispatched so far is settled. */
  settled(): Promise<void>;
  /** Nacks every message whose handler is still running (it ignored the hard stop); returns how many. */
  abandon(): number;
  readonly stats: ConsumeStats;
}

/**
 * A signal for one message that aborts with `parent`. Not AbortSignal.any([parent, ...]): on Node 20 a
 * composite over a long-lived signal is never freed (measured: 200,000 grow RSS by ~770 MiB). The one
 * listener this adds to `parent` goes away with release(), when the message is settled.
 */
export function linkedSignal(parent: AbortSignal): { signal: AbortSignal; release(): void } {
  const ctl = new AbortController();
  setMaxListeners(0, ctl.signal); // every request of the message listens to it, bounded by the mode's limits
  if (parent.aborted) {
    ctl.abort(parent.reason);
    return { signal: ctl.signal, release: () => undefined };
  }
  const onAbort = (): void => ctl.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { signal: ctl.signal, release: () => parent.removeEventListener('abort', onAbort) };
}

/**
 * We MUST settle every message we were handed, and only once: a late handler must not ack what the hard
 * stop already nacked. Every settle is counted here (stats and metrics); an ack's latency is from the
 * client's receipt of the message.
 */
function settler(m: Message, stats: ConsumeStats): (s: Settle) => void {
  let done = false;
  return (s) => {
    if (done) return;
    done = true;
    if (s === 'ack') {
      stats.acked++;
      metrics.messages.inc({ result: 'acked' });
      if (m.received > 0) metrics.ackSeconds.observe(Math.max(0, Date.now() - m.received) / 1000);
      m.ack();
    } else if (s === 'nack') {
      stats.nacked++;
      metrics.messages.inc({ result: 'nacked' });
      m.nack();
    } else {
      stats.deferred++;
      metrics.messages.inc({ result: 'deferred' });
      redeliverLater(m, s.later.seconds);
    }
  };
}

export const MAX_LATER_SECONDS = 600;

/**
 * A nack that takes effect later: the message's ack deadline is set to `seconds` (so Pub/Sub redelivers it
 * then, to whichever worker pulls) and the client stops leasing it. @google-cloud/pubsub 5.x has nack() (a
 * deadline of 0) but no public way to stop leasing a message after a modAck, so this reaches into its
 * inventory as releaseUndelivered() in consume.ts does; if that changes shape the message is nacked at once
 * (redelivered sooner, never lost).
 */
function redeliverLater(m: Message, seconds: number): void {
  const inventory = (m as unknown as { _subscriber?: { _inventory?: { remove?: (m: Message) => void } } })._subscriber?._inventory;
  if (typeof inventory?.remove !== 'function' || typeof m.modAck !== 'function') return m.nack();
  m.modAck(Math.max(1, Math.min(MAX_LATER_SECONDS, Math.round(seconds))));
  inventory.remove(m);
}

/** deadLetter()'s verdict: ack once a topic holds the message, nack otherwise (it comes back). */
async function malformed(ctx: Ctx, mode: string, m: Message, reason: string): Promise<Settle> {
  try {
    return (await deadLetter(ctx, mode, m, reason)) ? 'ack' : 'nack';
  } catch (err) {
    ctx.log.error(`${mode}: cannot dead-letter message ${m.id}; nacked, it comes back`, { message_id: m.id, error: toError(err) });
    return 'nack';
  }
}

export function createDispatcher<T extends { dir_key: string }>(ctx: Ctx, opts: DispatchOptions<T>, stops: Stops): Dispatcher {
  const { log } = ctx;
  const stats: ConsumeStats = { received: 0, acked: 0, nacked: 0, deferred: 0, malformed: 0, threw: 0, seconds: 0 };
  const running = new Map<Message, { settle: (s: Settle) => void; done: Promise<void> }>();
  let throwsInARow = 0;

  const threw = async (m: Message, dirKey: string, err: unknown, signal: AbortSignal): Promise<void> => {
    stats.threw++;
    const reason = classify(err).reason;
    if (signal.aborted) return void log.warn(`${opts.mode}: ${dirKey} cut short by the hard stop; nacked for redelivery`, { dir_key: dirKey, message_id: m.id, reason });
    log.error(`${opts.mode}: ${dirKey} failed: ${reason}; the message is nacked for redelivery`, { dir_key: dirKey, message_id: m.id, error: toError(err) });
    try {
      await reportError(ctx, opts.mode, dirKey, reason);
    } catch (e) {
      log.error(`${opts.mode}: cannot report ${dirKey} to the error topic`, { dir_key: dirKey, error: toError(e) });
    }
    // Paced: in an outage every message fails at once, and each nacked one would come straight back.
    await sleep(backoffMs(++throwsInARow, 1000, 30_000), stops.soft).catch(() => undefined);
  };

  const handle = async (m: Message, settle: (s: Settle) => void): Promise<void> => {
    const decoded = m.data.length > MAX_MESSAGE_BYTES ? { ok: false as const, reason: `message of ${m.data.length} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit` } : decodeMessage(opts.schema, m.data);
    if (!decoded.ok) {
      stats.malformed++;
      return settle(await malformed(ctx, opts.mode, m, decoded.reason));
    }
    const link = linkedSignal(stops.hard);
    try {
      const verdict = await opts.handle({ message: decoded.message, id: m.id, signal: link.signal, stopping: () => stops.soft.aborted, deliveryAttempt: m.deliveryAttempt ?? 0 });
      throwsInARow = 0;
      settle(verdict);
    } catch (err) {
      await threw(m, decoded.message.dir_key, err, link.signal);
      settle('nack');
    } finally {
      link.release();
    }
  };

  return {
    dispatch(m) {
      stats.received++;
      const settle = settler(m, stats);
      const done = handle(m, settle)
        .catch((err) => {
          log.error(`${opts.mode}: message ${m.id} not handled; nacked`, { message_id: m.id, error: toError(err) });
          settle('nack');
        })
        .finally(() => {
          running.delete(m);
          metrics.messagesInFlight.dec();
        });
      running.set(m, { settle, done });
      metrics.messagesInFlight.inc();
      return done;
    },
    nack: (m) => settler(m, stats)('nack'),
    get inFlight() {
      return running.size;
    },
    settled: async () => void (await Promise.allSettled([...running.values()].map((r) => r.done))),
    abandon() {
      for (const r of running.values()) r.settle('nack');
      return running.size;
    },
    stats,
  };
}
