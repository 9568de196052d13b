// `ott reset --purge` against the Pub/Sub emulator: seeking the subscription to now drops every queued
// subfolder message, as the reference's manual "purge the queue" step did.
import { afterAll, describe, expect, it } from 'vitest';
import type { Message } from '@google-cloud/pubsub';
import { testContext, type TestCtx } from '../helpers/context.js';
import { uniqueName } from '../helpers/names.js';
import { encodeMessage } from '../../src/common/messages.js';
import { reset } from '../../src/ops/reset.js';

let ctx: TestCtx | undefined;

afterAll(async () => {
  if (ctx) await Promise.allSettled([ctx.db.end(), ctx.clients.close()]);
});

/** Messages delivered within waitMs (acked), to see what is left on the subscription. */
async function drain(c: TestCtx, subscription: string, waitMs: number): Promise<string[]> {
  const sub = c.clients.pubsub().subscription(subscription);
  const got: string[] = [];
  sub.on('message', (m: Message) => {
    got.push(m.data.toString('utf8'));
    m.ack();
  });
  await new Promise((r) => setTimeout(r, waitMs));
  sub.removeAllListeners('message');
  await sub.close();
  return got;
}

describe('reset --purge', () => {
  it('clears the flags and drops the queued messages; later messages still arrive', async () => {
    const topicName = uniqueName('purge');
    const subscription = `${topicName}-sub`;
    ctx = await testContext('purge', { pubsub_subscription_id: subscription });
    const [topic] = await ctx.clients.pubsub().createTopic(topicName);
    await topic.createSubscription(subscription);
    await ctx.db.query("INSERT INTO transfer_state (dir_key, dir_key_sha, sync_check_published) VALUES ('d/x/', UNHEX(SHA2('d/x/', 256)), TRUE)");
    for (const k of ['d/x/', 'd/y/', 'd/z/']) await topic.publishMessage({ data: encodeMessage({ v: 1, kind: 'dir', purpose: 'syncCheck', dir_key: k }) });
    const r = await reset(ctx, { mode: 'syncCheck', purgeSubscription: subscription });
    expect(r).toMatchObject({ cleared: 1, purged: subscription });
    await topic.publishMessage({ data: encodeMessage({ v: 1, kind: 'dir', purpose: 'syncCheck', dir_key: 'd/after/' }) });
    const left = await drain(ctx, subscription, 3000);
    expect(left.map((d) => JSON.parse(d).dir_key)).toEqual(['d/after/']);
  });
});
