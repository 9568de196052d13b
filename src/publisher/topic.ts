// The Pub/Sub topic the publishers write to: checked to exist before any row is claimed (a wrong id or an
// unreachable Pub/Sub fails the run at once, claiming nothing), with the configured batching.
import { createHash } from 'node:crypto';
import type { Attributes } from '@google-cloud/pubsub';
import type { Ctx } from '../common/context.js';
import { requireFields } from '../common/config/schema.js';
import { withRetry } from '../common/retry.js';
import { TransferError } from '../common/errors.js';
import { MAX_MESSAGE_BYTES } from '../common/messages.js';
import { m as metrics } from '../common/metrics.js';

export interface PublishTopic {
  /** projects/P/topics/T */
  name: string;
  /** Resolves with the message id once Pub/Sub has acknowledged (stored) the message. */
  publish(data: Buffer, attributes: Attributes): Promise<string>;
  /** Sends whatever the client is still batching. */
  flush(): Promise<void>;
}

/** How long a batch may wait to fill before it is sent: the client's default, kept explicit. */
const BATCH_MAX_MS = 10;

/** A short, fixed-size attribute naming the subfolder (attribute values are capped at 1024 bytes). */
export function dirKeyHash(dirKey: string): string {
  return createHash('sha256').update(dirKey, 'utf8').digest('hex').slice(0, 32);
}

export async function openTopic(ctx: Ctx, mode: string): Promise<PublishTopic> {
  const { config } = ctx;
  requireFields(config, mode, ['pubsub_topic_id']);
  const topic = ctx.clients.pubsub().topic(config.pubsub_topic_id!, {
    batching: { maxMessages: config.max_messages_per_batch, maxMilliseconds: BATCH_MAX_MS, maxBytes: MAX_MESSAGE_BYTES },
    // The client's own retries on UNAVAILABLE etc., bounded by attempts instead of its 10-minute default,
    // so an unreachable Pub/Sub releases the subfolder with an error in reasonable time.
    gaxOpts: { maxRetries: config.max_attempts, timeout: 60_000 },
  });
  const exists = await withRetry(
    async () => {
      try {
        await topic.getMetadata({ maxRetries: 1, timeout: 10_000 });
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code === 5) return false; // NOT_FOUND
        throw err;
      }
    },
    {
      maxAttempts: config.max_attempts,
      budgetMs: config.retry_budget_ms,
      signal: ctx.signal,
      onRetry: (i) => ctx.log.warn(`${mode}: Pub/Sub not answering, retrying`, { topic: topic.name, ...i }),
    },
  ).catch((err: unknown) => {
    throw new TransferError(`${mode}: cannot reach Pub/Sub topic ${topic.name}: ${(err as Error).message}; nothing was claimed`, false, { cause: err });
  });
  if (!exists) throw new TransferError(`${mode}: Pub/Sub topic ${topic.name} does not exist: create it, or fix pubsub_topic_id; nothing was claimed`, false);
  return {
    name: topic.name,
    // Counted once Pub/Sub has the message: keys are its objects (objects lists) or its one subfolder (dir).
    publish: async (data, attributes) => {
      const id = await topic.publishMessage({ data, attributes });
      const kind = attributes.kind === 'objects' ? 'objects' : 'dir';
      metrics.publishedMessages.inc({ kind });
      metrics.publishedKeys.inc({ kind }, kind === 'objects' ? Number(attributes.objects) || 0 : 1);
      return id;
    },
    flush: () => topic.flush(),
  };
}
