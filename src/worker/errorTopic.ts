// Where a worker puts what it could not do, for every mode: error_pubsub_topic_id gets a failure with
// its reason (an object, or a whole subfolder), dead_letter_topic_id a malformed message as it arrived.
// Both throw when Pub/Sub refuses, so the caller nacks instead of acking: work is never acked away
// unless a topic (or the state table) holds what happened to it.
import type { Message, PubSub, Topic } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import { encodeMessage, MAX_MESSAGE_BYTES, type ErrorMessage } from '../common/messages.js';
import { redact } from '../common/redact.js';

/** One Topic (and so one batching publisher) per topic id and client, not one per failure. */
const topics = new WeakMap<PubSub, Map<string, Topic>>();

function topic(ctx: Ctx, id: string): Topic {
  const pubsub = ctx.clients.pubsub();
  let byId = topics.get(pubsub);
  if (!byId) topics.set(pubsub, (byId = new Map()));
  let t = byId.get(id);
  if (!t) byId.set(id, (t = pubsub.topic(id)));
  return t;
}

/**
 * Sends one failure to the error topic: a subfolder, or one `key` in it. Returns false when no
 * error_pubsub_topic_id is configured (the failure is only logged); throws if Pub/Sub refuses it.
 */
export async function reportError(ctx: Ctx, mode: string, dirKey: string, reason: string, more: { key?: string; attempts?: number } = {}): Promise<boolean> {
  const msg: ErrorMessage = {
    v: 1,
    kind: 'error',
    mode,
    dir_key: dirKey,
    ...(more.key !== undefined ? { key: more.key } : {}),
    reason: redact(reason).slice(0, 4000),
    attempts: more.attempts ?? 1,
    worker: ctx.workerId,
    at: new Date().toISOString(),
  };
  const id = ctx.config.error_pubsub_topic_id;
  ctx.log.error(`${mode}: ${more.key !== undefined ? 'object' : 'subfolder'} failed`, { dir_key: dirKey, key: more.key, reason: msg.reason, attempts: msg.attempts, to: id ?? 'log only (no error_pubsub_topic_id)' });
  if (!id) return false;
  await topic(ctx, id).publishMessage({ data: encodeMessage(msg) });
  return true;
}

/**
 * The one policy for a message that cannot be decoded, in every mode. Redelivery never mends it, so it
 * leaves the subscription, but only once a topic holds it: the dead-letter topic gets its bytes as they
 * arrived with the reason (an operator can fix and republish them); without one, the error topic gets the
 * reason, where operators already look. Returns true then (ack). With neither topic it returns false
 * (nack): the subscription's own dead-letter policy moves it after its max delivery attempts, and
 * nothing is acked into the void. Throws if Pub/Sub refuses (nack, and it comes back).
 */
export async function deadLetter(ctx: Ctx, mode: string, m: Message, reason: string): Promise<boolean> {
  const { dead_letter_topic_id: dead, error_pubsub_topic_id: errors, pubsub_subscription_id: subscription } = ctx.config;
  ctx.log.error(`${mode}: malformed message`, { message_id: m.id, bytes: m.data.length, reason, to: dead ?? errors ?? 'nack (no dead_letter_topic_id or error_pubsub_topic_id)' });
  if (dead) {
    await topic(ctx, dead).publishMessage({ data: m.data, attributes: { reason: redact(reason).slice(0, 1000), subscription: subscription ?? '', original_message_id: m.id } });
    return true;
  }
  if (!errors) return false;
  return reportError(ctx, mode, dirKeyOf(m.data), `malformed message ${m.id}: ${reason}`);
}

/** The dir_key a malformed message names, if its JSON has one (so the error says which subfolder). */
function dirKeyOf(data: Buffer): string {
  if (data.length > MAX_MESSAGE_BYTES) return '';
  try {
    const v = (JSON.parse(data.toString('utf8')) as { dir_key?: unknown } | null)?.dir_key;
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}
