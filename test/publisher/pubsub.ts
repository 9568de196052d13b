// Pub/Sub for the publisher tests: a fresh topic with a subscription made before anything is published
// (so every message is retained), and a collector that pulls and acks until the topic goes quiet.
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import { uniqueName } from '../helpers/names.js';

export interface Received {
  data: Buffer;
  attributes: Record<string, string>;
}

export function pubsubClient(): PubSub {
  if (!process.env.PUBSUB_EMULATOR_HOST) throw new Error('PUBSUB_EMULATOR_HOST is not set: is the local stack running?');
  return new PubSub({ projectId: process.env.PUBSUB_PROJECT_ID ?? 'ott-local' });
}

export async function freshTopic(ps: PubSub, prefix: string): Promise<{ topicId: string; subscriptionId: string }> {
  const topicId = uniqueName(prefix);
  const subscriptionId = `${topicId}-sub`;
  const [topic] = await ps.createTopic(topicId);
  await topic.createSubscription(subscriptionId, { ackDeadlineSeconds: 60 });
  return { topicId, subscriptionId };
}

/** Pulls and acks until `quietMs` pass without a message (and at least `minCount` arrived). */
export async function collect(ps: PubSub, subscriptionId: string, opts: { quietMs?: number; minCount?: number; maxWaitMs?: number } = {}): Promise<Received[]> {
  const quietMs = opts.quietMs ?? 1500;
  const got: Received[] = [];
  const sub: Subscription = ps.subscription(subscriptionId, { flowControl: { maxMessages: 2000 } });
  const started = Date.now();
  let last = Date.now();
  sub.on('message', (m) => {
    got.push({ data: m.data, attributes: { ...m.attributes } });
    m.ack();
    last = Date.now();
  });
  const errors: Error[] = [];
  sub.on('error', (e: Error) => errors.push(e));
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (errors.length) throw errors[0];
      const quiet = Date.now() - last >= quietMs;
      if (quiet && got.length >= (opts.minCount ?? 0)) break;
      if (Date.now() - started > (opts.maxWaitMs ?? 60_000)) throw new Error(`collected ${got.length} messages, expected at least ${opts.minCount}`);
    }
  } finally {
    await sub.close();
  }
  return got;
}
