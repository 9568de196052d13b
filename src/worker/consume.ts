// The one Pub/Sub consumer of the workers (cdnTransfer, syncCheck, rsync): it owns the subscription and its
// flow control, decoding, dead-lettering and the error topic (delivery.ts), idle exit, --max-messages and
// shutdown; a mode brings its handler and records what the handler did.
// Stopping (SIGTERM, idle, the message limit, a broken subscription): stop pulling and nack what arrives;
// in-flight handlers finish within graceMs; then the hard stop aborts their signals; messages the client
// pulled but never handed over are nacked at once, so close() returns promptly and others get them.
import { createRequire } from 'node:module';
import { setMaxListeners } from 'node:events';
import type { Message, Subscription } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { googleErrorMessage, toError } from '../common/errors.js';
import { createDispatcher, type ConsumeStats, type Dispatcher, type DispatchOptions } from './delivery.js';

export type { ConsumeStats, Delivery, Handler, Settle } from './delivery.js';

// The SDK loads on first use (tens of MiB): commands import their modes eagerly.
const require = createRequire(import.meta.url);

/** Everything but the schema and the handler. */
export interface ConsumeSettings {
  /** The mode, in logs and error messages. */
  mode: string;
  /** Messages held and handled at once (flow control's maxMessages). */
  concurrency: number;
  /** Flow control on message bytes held at once; default 64 MiB. */
  maxBytes?: number;
  /** How long the client keeps extending one message's ack deadline: the mode's longest piece of work. */
  maxExtensionMs: number;
  /** Stop once nothing has arrived or been in flight for this long; 0 or unset: run until shutdown. */
  idleExitMs?: number;
  /** Stop after this many messages were handed to the handler; 0 or unset: no limit. */
  maxMessages?: number;
  /** After the stop, how long in-flight handlers may finish before their signals abort. */
  graceMs: number;
  /** After the hard stop, how long to wait for handlers that ignore their signal; default 10 s. */
  hardStopWaitMs?: number;
  /** Extra fields for the `<mode>: started` line. */
  logFields?: Record<string, unknown>;
}

export interface ConsumeOptions<T> extends ConsumeSettings, DispatchOptions<T> {}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_HARD_STOP_WAIT_MS = 10_000;
const STREAM_WARN_EVERY_MS = 60_000;
/**
 * Streaming pulls per process. The client opens min(5, maxMessages) by default, but a worker holds a handful
 * of messages (cdnTransfer: about four keys per copy slot) and one stream carries thousands a second: more
 * streams add only connections for the server (and the emulator, on the benchmark's shared cores) to keep.
 */
const PULL_STREAMS = 1;
/** The longest the start waits for the Pub/Sub client to be built (buildClient) before opening the stream anyway. */
const CLIENT_BUILD_WAIT_MS = 10_000;

export async function consume<T extends { dir_key: string }>(ctx: Ctx, opts: ConsumeOptions<T>): Promise<ConsumeStats> {
  requireFields(ctx.config, opts.mode, ['pubsub_subscription_id']);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error(`Expected \`concurrency\` to be an integer from 1 and up, got \`${opts.concurrency}\``);
  if (!(opts.graceMs >= 0)) throw new Error(`Expected \`graceMs\` to be a number from 0 and up, got \`${opts.graceMs}\``);
  const started = Date.now();
  const soft = new AbortController();
  const hard = new AbortController();
  setMaxListeners(0, soft.signal, hard.signal); // one listener per message in flight, removed when it settles
  const d = createDispatcher(ctx, opts, { soft: soft.signal, hard: hard.signal });
  const sub = subscribe(ctx, opts);
  await buildClient(ctx);
  const stopped = new Promise<void>((resolve) => soft.signal.addEventListener('abort', () => resolve(), { once: true }));
  const stop = (why: string): void => {
    if (soft.signal.aborted) return;
    ctx.log.info(`${opts.mode}: stopping: no new messages; finishing what is in flight`, { why, in_flight: d.inFlight, grace_period_seconds: opts.graceMs / 1000 });
    soft.abort(new Error(`stopping: ${why}`));
  };
  const feed = feedMessages(ctx, opts, sub, d, stop);
  ctx.log.info(`${opts.mode}: started`, { subscription: ctx.config.pubsub_subscription_id, concurrency: opts.concurrency, ...opts.logFields });
  await stopped;
  try {
    await drain(ctx, opts, sub, d, hard, feed.delivered);
  } finally {
    feed.dispose();
  }
  const fatal = feed.fatal();
  if (fatal) throw fatal;
  return { ...d.stats, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

function subscribe(ctx: Ctx, opts: ConsumeSettings): Subscription {
  const { Duration, SubscriptionCloseBehaviors } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const closeMs = opts.graceMs + (opts.hardStopWaitMs ?? DEFAULT_HARD_STOP_WAIT_MS) + 15_000;
  return ctx.clients.pubsub().subscription(ctx.config.pubsub_subscription_id!, {
    flowControl: { maxMessages: opts.concurrency, maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES, allowExcessMessages: false },
    streamingOptions: { maxStreams: PULL_STREAMS },
    // The client extends each lease while we hold the message: long work is never redelivered midway.
    maxExtensionTime: Duration.from({ milliseconds: opts.maxExtensionMs }),
    // close() keeps leasing what we hold until it is settled; the timeout is a last resort (drain() settles first).
    closeOptions: { behavior: SubscriptionCloseBehaviors.WaitForProcessing, timeout: Duration.from({ milliseconds: closeMs }) },
  });
}

/**
 * Builds the subscription's gRPC client before the started line: its protos parsed, its credentials found,
 * its stub made (measured: ~100 ms of CPU to build, ~60 ms to initialize), so the line marks a consumer that has
 * only its stream to open, as the bare loop's clock starts with its HTTP pools made but not connected. The
 * client library does both lazily, on the stream's first open, through PubSub's getClientAsync_, an internal
 * method (reached as releaseUndelivered() reaches the lease inventory), and the client's own initialize(),
 * which the stream calls again (it returns the stub made): if either changes shape, the stream builds it as before.
 * A failure is left for the stream to report through the subscription's error handling; a shutdown or a slow
 * credential lookup (CLIENT_BUILD_WAIT_MS) does not hold the start up.
 */
async function buildClient(ctx: Ctx): Promise<void> {
  const pubsub = ctx.clients.pubsub() as unknown as { getClientAsync_?: (config: { client: string }) => Promise<unknown> };
  if (typeof pubsub.getClientAsync_ !== 'function' || ctx.signal.aborted) return;
  const built = pubsub
    .getClientAsync_({ client: 'SubscriberClient' })
    .then((client) => (client as { initialize?: () => Promise<unknown> }).initialize?.())
    .then(
      () => undefined,
      () => undefined,
    );
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => undefined;
  const cap = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLIENT_BUILD_WAIT_MS);
    onAbort = resolve;
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  await Promise.race([built, cap]);
  clearTimeout(timer);
  ctx.signal.removeEventListener('abort', onAbort);
}

/** Routes arriving messages to the dispatcher until the stop, and decides when to stop (other than at the call's end). */
function feedMessages(ctx: Ctx, opts: ConsumeSettings, sub: Subscription, d: Dispatcher, stop: (why: string) => void) {
  const delivered = new WeakSet<Message>();
  const max = opts.maxMessages ?? 0;
  let accepted = 0;
  let stopping = false;
  let lastActivity = Date.now();
  let fatal: Error | undefined;
  const onMessage = (m: Message): void => {
    delivered.add(m);
    lastActivity = Date.now();
    // Stopping, or over the limit: someone else gets it now.
    if (stopping || (max > 0 && accepted >= max)) return d.nack(m);
    accepted++;
    void d.dispatch(m).then(() => {
      lastActivity = Date.now();
      if (max > 0 && accepted >= max && d.inFlight === 0) halt('max messages');
    });
  };
  const halt = (why: string): void => {
    stopping = true;
    stop(why);
  };
  const onError = (err: Error): void => {
    fatal ??= new Error(`subscription ${ctx.config.pubsub_subscription_id} failed: ${err.message}`, { cause: err });
    halt('subscription error');
  };
  // The client reopens a broken stream by itself, forever: say so (once a minute at most), or an unreachable
  // Pub/Sub would look like an empty subscription.
  let streamWarnedAt = 0;
  const onDebug = (msg: { message?: string; error?: unknown }): void => {
    if (Date.now() - streamWarnedAt < STREAM_WARN_EVERY_MS) return;
    streamWarnedAt = Date.now();
    ctx.log.warn(`${opts.mode}: Pub/Sub stream broke; the client reconnects`, { subscription: ctx.config.pubsub_subscription_id, detail: msg.message, reason: msg.error ? googleErrorMessage(msg.error) : undefined });
  };
  const onAbort = (): void => halt('shutdown signal');
  sub.on('debug', onDebug);
  sub.on('message', onMessage);
  sub.on('error', onError); // stays attached: an 'error' with no listener would crash the process
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  const idleMs = opts.idleExitMs ?? 0;
  const idle = idleMs > 0 ? setInterval(() => d.inFlight === 0 && Date.now() - lastActivity > idleMs && halt('idle'), Math.min(1000, Math.max(50, idleMs / 4))) : undefined;
  return {
    delivered,
    fatal: () => fatal,
    dispose(): void {
      clearInterval(idle);
      ctx.signal.removeEventListener('abort', onAbort);
      sub.removeListener('message', onMessage);
      sub.removeListener('debug', onDebug);
    },
  };
}

/** After the stop: close the stream, let handlers finish within the grace period, then settle the rest. */
async function drain(ctx: Ctx, opts: ConsumeSettings, sub: Subscription, d: Dispatcher, hard: AbortController, delivered: WeakSet<Message>): Promise<void> {
  const graceTimer = setTimeout(() => hard.abort(new Error(`grace period over (${opts.graceMs} ms)`)), opts.graceMs);
  // Stops the stream at once; keeps leasing what we hold until it is settled.
  const closing = sub.close().catch((err: unknown) => ctx.log.warn(`${opts.mode}: closing the subscription failed`, { error: toError(err) }));
  try {
    await settleInFlight(ctx, opts, d, hard.signal);
    // Every message handed to us is settled. The client may still hold messages it pulled but never
    // delivered (flow control held them back): WaitForProcessing would wait its whole timeout for them.
    // Nack them now, so the process exits promptly and they go to another worker at once.
    const undelivered = releaseUndelivered(sub).filter((m) => !delivered.has(m));
    for (const m of undelivered) d.nack(m);
    if (undelivered.length) ctx.log.info(`${opts.mode}: nacked messages pulled but never started`, { messages: undelivered.length });
    await closing;
  } finally {
    clearTimeout(graceTimer);
  }
}

/** Waits for every handler; one still running hardStopWaitMs after the hard stop has its message nacked. */
async function settleInFlight(ctx: Ctx, opts: ConsumeSettings, d: Dispatcher, hard: AbortSignal): Promise<void> {
  const waitMs = opts.hardStopWaitMs ?? DEFAULT_HARD_STOP_WAIT_MS;
  let timer: NodeJS.Timeout | undefined;
  let arm: () => void = () => undefined;
  const overdue = new Promise<void>((resolve) => {
    arm = () => void (timer = setTimeout(resolve, waitMs));
    if (hard.aborted) arm();
    else hard.addEventListener('abort', arm, { once: true });
  });
  await Promise.race([d.settled(), overdue]);
  clearTimeout(timer);
  hard.removeEventListener('abort', arm);
  const left = d.abandon();
  if (left) ctx.log.error(`${opts.mode}: ${left} handler(s) still running ${waitMs} ms after the hard stop; their messages are nacked`, { handlers: left });
}

/**
 * Takes every message out of the subscriber's lease inventory and returns them; only for after close(),
 * once our own handlers have settled. @google-cloud/pubsub 5.x has no public way to release messages that
 * flow control kept back, so this reaches into its lease manager; if that changes shape we get nothing
 * back and close() falls back to its timeout, which is slow but still correct.
 */
function releaseUndelivered(sub: Subscription): Message[] {
  const inventory = (sub as unknown as { _subscriber?: { _inventory?: { clear?: () => Message[] } } })._subscriber?._inventory;
  return typeof inventory?.clear === 'function' ? inventory.clear() : [];
}
