// The shared driver of the subfolder modes (syncCheck, rsync): pulls dir messages from
// pubsub_subscription_id with bounded concurrency, decodes them (a malformed one is logged, sent to the
// error topic and acked: never a crash) and hands each subfolder to the mode, which works on it under a
// claim (src/state/withClaim.ts). A handler failure sends the subfolder to error_pubsub_topic_id with the reason.
import { createRequire } from 'node:module';
import type { Message, Subscription } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { dirMessageSchema, decodeMessage, encodeMessage, type ErrorMessage } from '../common/messages.js';
import { classify, toError } from '../common/errors.js';
import { redact } from '../common/redact.js';
import type { WorkMode } from '../state/leases.js';

const require = createRequire(import.meta.url);

export interface DirWorkerOptions {
  purpose: WorkMode;
  /** Subfolders worked on at once (each may itself run parallel listings or copies). */
  concurrency: number;
  /** Stop after this long with nothing received and nothing in flight; 0 runs until shutdown. */
  idleExitSeconds: number;
  /** Stop after this many messages (0: no limit). */
  maxMessages: number;
  /** How long Pub/Sub keeps extending one message's ack deadline (the mode's longest piece of work). */
  maxExtensionSeconds: number;
}

/** What a mode did with one subfolder; counted into the summary. */
export type Outcome = string;

export interface DirWorkerSummary {
  received: number;
  malformed: number;
  outcomes: Record<string, number>;
  seconds: number;
}

/** Sends one subfolder to the error topic. Throws if Pub/Sub refuses, so the caller can nack instead of ack. */
export async function reportError(ctx: Ctx, mode: string, dirKey: string, reason: string, attempts = 1): Promise<void> {
  const msg: ErrorMessage = { v: 1, kind: 'error', mode, dir_key: dirKey, reason: redact(reason).slice(0, 4000), attempts, worker: ctx.workerId, at: new Date().toISOString() };
  ctx.log.warn(`${mode}: ${dirKey} sent to the error topic`, { dir_key: dirKey, reason: msg.reason });
  if (!ctx.config.error_pubsub_topic_id) return;
  await ctx.clients.pubsub().topic(ctx.config.error_pubsub_topic_id).publishMessage({ data: encodeMessage(msg) });
}

export async function runDirWorker(ctx: Ctx, opts: DirWorkerOptions, handle: (dirKey: string) => Promise<Outcome>): Promise<DirWorkerSummary> {
  requireFields(ctx.config, opts.purpose, ['pubsub_subscription_id']);
  const { Duration } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const started = Date.now();
  const summary: DirWorkerSummary = { received: 0, malformed: 0, outcomes: {}, seconds: 0 };
  const sub: Subscription = ctx.clients.pubsub().subscription(ctx.config.pubsub_subscription_id!, {
    flowControl: { maxMessages: opts.concurrency, allowExcessMessages: false },
    maxExtensionTime: Duration.from({ seconds: opts.maxExtensionSeconds }),
  });
  let inFlight = 0;
  let lastActivity = Date.now();
  let accepted = 0;
  let finishRun: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finishRun = r));
  const count = (o: string): void => {
    summary.outcomes[o] = (summary.outcomes[o] ?? 0) + 1;
  };
  const stopping = (): boolean => ctx.signal.aborted || (opts.maxMessages > 0 && accepted >= opts.maxMessages);

  const onMessage = async (m: Message): Promise<void> => {
    if (stopping()) return m.nack(); // over the limit or shutting down: someone else gets it
    accepted++;
    inFlight++;
    summary.received++;
    lastActivity = Date.now();
    const decoded = decodeMessage(dirMessageSchema, m.data);
    try {
      if (!decoded.ok || decoded.message.purpose !== opts.purpose) {
        summary.malformed++;
        const reason = decoded.ok ? `message for purpose ${decoded.message.purpose} on the ${opts.purpose} subscription` : decoded.reason;
        const dead = ctx.config.dead_letter_topic_id;
        ctx.log.error(`${opts.purpose}: malformed message ${m.id} dead-lettered`, { reason, to: dead ?? ctx.config.error_pubsub_topic_id ?? 'log only' });
        // The original bytes go to the dead-letter topic (as cdnTransfer does); without one, a reasoned error message.
        if (dead) await ctx.clients.pubsub().topic(dead).publishMessage({ data: m.data, attributes: { reason: reason.slice(0, 1000), subscription: ctx.config.pubsub_subscription_id!, original_message_id: m.id } });
        else await reportError(ctx, opts.purpose, decoded.ok ? decoded.message.dir_key : '', `malformed message ${m.id}: ${reason}`);
        m.ack();
        return;
      }
      const dirKey = decoded.message.dir_key;
      let outcome: Outcome;
      try {
        outcome = await handle(dirKey);
      } catch (err) {
        // The mode could not even record its failure (MySQL down): its claim expires; the subfolder goes
        // to the error topic, and the message is acked only once the error topic has it.
        const reason = classify(err).reason;
        ctx.log.error(`${opts.purpose}: ${dirKey} failed: ${reason}`, { dir_key: dirKey, error: toError(err) });
        if (ctx.signal.aborted) return m.nack();
        await reportError(ctx, opts.purpose, dirKey, reason);
        outcome = 'failed';
      }
      count(outcome);
      if (outcome === 'released') m.nack();
      else m.ack();
    } catch (err) {
      ctx.log.error(`${opts.purpose}: message ${m.id} not settled, will be redelivered`, { error: toError(err) });
      count('redelivered');
      m.nack();
    } finally {
      inFlight--;
      lastActivity = Date.now();
      if (opts.maxMessages > 0 && accepted >= opts.maxMessages && inFlight === 0) finishRun();
    }
  };

  sub.on('message', (m: Message) => void onMessage(m));
  sub.on('error', (err: Error) => ctx.log.error(`${opts.purpose}: subscriber error`, { error: err }));
  const idle = setInterval(() => {
    if (inFlight > 0) return;
    if (ctx.signal.aborted) finishRun();
    else if (opts.idleExitSeconds > 0 && Date.now() - lastActivity >= opts.idleExitSeconds * 1000) finishRun();
  }, 200);
  const onAbort = (): void => {
    if (inFlight === 0) finishRun();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await finished;
  } finally {
    clearInterval(idle);
    ctx.signal.removeEventListener('abort', onAbort);
    sub.removeAllListeners('message');
    await sub.close().catch((err: unknown) => ctx.log.warn(`${opts.purpose}: closing the subscriber failed`, { error: toError(err) }));
  }
  summary.seconds = Math.round((Date.now() - started) / 100) / 10;
  return summary;
}
