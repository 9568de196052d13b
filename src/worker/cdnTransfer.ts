// Mode `cdnTransfer`: pulls object-list messages, copies every object S3 -> CloudFront -> GCS (verified),
// and acks a message only when each of its keys is verified in GCS or handed to the error topic.
// Malformed messages go to the dead-letter topic (then acked), or, with no dead-letter topic configured,
// are nacked and logged so the subscription's own dead-letter policy takes them after its max attempts.
// Shutdown: stop pulling, let in-flight objects finish within grace_period_seconds, nack the rest.
import { setMaxListeners } from 'node:events';
import { Duration, SubscriptionCloseBehaviors, type Message, type Subscription } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, objectsListMessageSchema, type ErrorMessage, type ObjectsListMessage } from '../common/messages.js';
import { startProgress } from '../common/progress.js';
import { toError } from '../common/errors.js';
import { createCopier, type CopyTunables } from './copy/index.js';
import type { CopyOutcome } from './copy/copyObject.js';
import { createLimiter } from '../common/limit.js';
import { startCounters } from './transferCounters.js';

export interface CdnTransferArgs {
  /** Stop (as on SIGTERM) once nothing has arrived or been in flight for this long (batch runs, tests). */
  exitWhenIdleMs?: number;
  tunables?: Partial<CopyTunables>;
}

export interface CdnTransferSummary {
  messages: number;
  acked: number;
  nacked: number;
  deadLettered: number;
  copied: number;
  copiedBytes: number;
  skipped: number;
  failed: number;
  sizeOnly: number;
  seconds: number;
}

/** Pub/Sub's own flow control on message bytes (object-list messages are small; this bounds memory). */
const FLOW_MAX_BYTES = 64 * 1024 * 1024;
const PROGRESS_MS = 5000;

export async function run(ctx: Ctx, args: CdnTransferArgs = {}): Promise<CdnTransferSummary> {
  const { config, log } = ctx;
  requireFields(config, 'cdnTransfer', ['pubsub_subscription_id', 'gcs_bucket', 'cloudfront_url_host_pre']);
  const started = Date.now();
  const copier = createCopier(ctx, { ...args.tunables, concurrency: config.transfer_concurrency });
  const pubsub = ctx.clients.pubsub();
  const graceMs = config.grace_period_seconds * 1000;
  // A message is acked only when its last key is done, so keys wait behind its slowest copy: keep about
  // four keys in hand per copy slot (plus two messages) so the limiter never starves; num_messages is a floor.
  const maxMessages = Math.max(config.num_messages, Math.ceil((4 * config.transfer_concurrency) / config.num_single_message) + 2);
  const sub = pubsub.subscription(config.pubsub_subscription_id!, {
    flowControl: { maxMessages, maxBytes: FLOW_MAX_BYTES, allowExcessMessages: false },
    // The client extends each lease while we hold the message: long objects are never redelivered mid-copy.
    maxExtensionTime: Duration.from({ hours: 24 }),
    closeOptions: { behavior: SubscriptionCloseBehaviors.WaitForProcessing, timeout: Duration.from({ milliseconds: graceMs + 15_000 }) },
  });
  const errorTopic = config.error_pubsub_topic_id ? pubsub.topic(config.error_pubsub_topic_id) : undefined;
  const deadTopic = config.dead_letter_topic_id ? pubsub.topic(config.dead_letter_topic_id) : undefined;
  const limiter = createLimiter(config.transfer_concurrency);
  const counters = startCounters(ctx.db, config.mysql_table, log);
  // The shared progress logger gives the totals line at the end; the windowed rates are ours, below.
  const progress = startProgress(log, 'cdnTransfer', { rateKey: 'objects', intervalMs: 10 * 60_000 });
  const s: CdnTransferSummary = { messages: 0, acked: 0, nacked: 0, deadLettered: 0, copied: 0, copiedBytes: 0, skipped: 0, failed: 0, sizeOnly: 0, seconds: 0 };
  const hardStop = new AbortController(); // fires when the grace period is over: in-flight copies abort
  setMaxListeners(0, hardStop.signal); // one listener per request in flight, by design
  const handlers = new Set<Promise<void>>();
  let stopping = false;
  let lastActivity = Date.now();
  let fatal: Error | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('cdnTransfer: stopping: no new messages; finishing what is in flight', { why, in_flight: limiter.active, grace_period_seconds: config.grace_period_seconds });
    wake();
  };

  // Every few seconds: objects/s and MiB/s over the last window, in flight, skipped, failed.
  let window = { at: Date.now(), objects: 0, bytes: 0 };
  const tick = (): void => {
    const now = Date.now();
    const snap = progress.snapshot();
    const objects = snap.objects ?? 0;
    const bytes = snap.bytes ?? 0;
    const secs = Math.max(0.001, (now - window.at) / 1000);
    if (now - window.at >= PROGRESS_MS - 50) {
      log.info('cdnTransfer: throughput', {
        objects_per_s: Math.round(((objects - window.objects) / secs) * 10) / 10,
        mib_per_s: Math.round(((bytes - window.bytes) / 1048576 / secs) * 10) / 10,
        in_flight: limiter.active,
        queued: limiter.queued,
        copied: s.copied,
        skipped: s.skipped,
        failed: s.failed,
      });
      window = { at: now, objects, bytes };
    }
    if (args.exitWhenIdleMs !== undefined && handlers.size === 0 && now - lastActivity > args.exitWhenIdleMs) stop('idle');
  };
  const bytesTimer = setInterval(tick, args.exitWhenIdleMs !== undefined ? Math.min(PROGRESS_MS, Math.max(100, args.exitWhenIdleMs / 4)) : PROGRESS_MS);

  const deadLetter = async (m: Message, reason: string): Promise<void> => {
    s.deadLettered++;
    log.error('cdnTransfer: malformed message', { message_id: m.id, bytes: m.data.length, reason, to: deadTopic ? config.dead_letter_topic_id : 'nack (no dead_letter_topic_id)' });
    if (!deadTopic) return nack(m);
    try {
      await deadTopic.publishMessage({ data: m.data, attributes: { reason: reason.slice(0, 1000), subscription: config.pubsub_subscription_id!, original_message_id: m.id } });
      ack(m);
    } catch (err) {
      log.error('cdnTransfer: cannot publish to the dead-letter topic; nacking', { message_id: m.id, error: toError(err) });
      nack(m);
    }
  };
  const ack = (m: Message): void => {
    s.acked++;
    m.ack();
  };
  const nack = (m: Message): void => {
    s.nacked++;
    m.nack();
  };

  const record = (dirKey: string, o: CopyOutcome): void => {
    progress.add({ objects: o.status === 'aborted' ? 0 : 1, [o.status]: 1, ...(o.status === 'copied' ? { bytes: o.bytes } : {}) });
    if (o.status === 'copied') {
      s.copied++;
      s.copiedBytes += o.bytes;
      if (o.verifiedBy === 'size+crc32c') s.sizeOnly++;
      counters.add(dirKey, { copied_objects: 1, copied_bytes: o.bytes, size_only_objects: o.verifiedBy === 'size+crc32c' ? 1 : 0 });
    } else if (o.status === 'skipped') {
      s.skipped++;
      counters.add(dirKey, { skipped_objects: 1 });
    } else if (o.status === 'failed') {
      s.failed++;
      counters.add(dirKey, { failed_objects: 1 });
    }
  };

  const reportFailure = async (msg: ObjectsListMessage, o: Extract<CopyOutcome, { status: 'failed' }>): Promise<boolean> => {
    log.error('cdnTransfer: object failed', { dir_key: msg.dir_key, key: o.key, reason: o.reason, attempts: o.attempts });
    if (!errorTopic) return false;
    const e: ErrorMessage = { v: 1, kind: 'error', mode: 'cdnTransfer', dir_key: msg.dir_key, key: o.key, reason: o.reason, attempts: o.attempts, worker: ctx.workerId, at: new Date().toISOString() };
    try {
      await errorTopic.publishMessage({ data: encodeMessage(e) });
      return true;
    } catch (err) {
      log.error('cdnTransfer: cannot publish to the error topic', { key: o.key, error: toError(err) });
      return false;
    }
  };

  const handle = async (m: Message): Promise<void> => {
    s.messages++;
    if (m.data.length > MAX_MESSAGE_BYTES) return deadLetter(m, `message of ${m.data.length} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit for object lists`);
    const decoded = decodeMessage(objectsListMessageSchema, m.data);
    if (!decoded.ok) return deadLetter(m, decoded.reason);
    const msg = decoded.message;
    const outcomes = await Promise.all(
      msg.objects.map((entry) =>
        limiter.run(async (): Promise<CopyOutcome> => {
          // Keys not started before shutdown are left for the redelivery.
          if (stopping) return { status: 'aborted', key: entry.key, bytes: entry.size };
          const o = await copier.copy(entry, hardStop.signal);
          record(msg.dir_key, o);
          return o;
        }),
      ),
    );
    // We MUST settle the message: ack only when every key is verified or handed to the error topic.
    let settled = outcomes.every((o) => o.status !== 'aborted');
    for (const o of outcomes) if (o.status === 'failed' && !(await reportFailure(msg, o))) settled = false;
    if (settled) ack(m);
    else nack(m);
  };

  const delivered = new WeakSet<Message>();
  sub.on('message', (m: Message) => {
    delivered.add(m);
    lastActivity = Date.now();
    if (stopping) return void nack(m);
    const p = handle(m)
      .catch((err) => {
        log.error('cdnTransfer: message handling failed; nacking', { message_id: m.id, error: toError(err) });
        nack(m);
      })
      .finally(() => {
        handlers.delete(p);
        lastActivity = Date.now();
      });
    handlers.add(p);
  });
  sub.on('error', (err: Error) => {
    fatal = new Error(`subscription ${config.pubsub_subscription_id} failed: ${err.message}`, { cause: err });
    stop('subscription error');
  });
  const onAbort = (): void => stop('shutdown signal');
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  log.info('cdnTransfer: started', { subscription: config.pubsub_subscription_id, concurrency: config.transfer_concurrency, max_messages: maxMessages, signed_urls: copier.deps.signer.signed });

  await stopped;
  const graceTimer = setTimeout(() => hardStop.abort(new Error('grace period over')), graceMs);
  try {
    // Stops the stream at once; keeps leasing what we hold until it is settled (or the timeout nacks it).
    const closing = sub.close();
    await Promise.allSettled([...handlers]);
    // Every message handed to us is settled. The client may still hold messages it pulled but never
    // delivered (flow control held them back; close() stops delivery): WaitForProcessing would wait its
    // whole timeout (grace_period_seconds + 15 s) for them. Nack them now, so the process exits promptly
    // and they go to another worker at once.
    const undelivered = releaseUndelivered(sub).filter((m) => !delivered.has(m));
    for (const m of undelivered) nack(m);
    if (undelivered.length) log.info('cdnTransfer: nacked messages pulled but never started', { messages: undelivered.length });
    await closing;
  } finally {
    clearTimeout(graceTimer);
    clearInterval(bytesTimer);
    ctx.signal.removeEventListener('abort', onAbort);
    await counters.stop();
    await copier.close();
    progress.stop();
  }
  s.seconds = Math.round((Date.now() - started) / 100) / 10;
  if (fatal) throw fatal;
  return s;
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
