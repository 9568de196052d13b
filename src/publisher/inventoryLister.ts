// publishObjectsList --from-inventory: a subfolder's objects read from the inventory index that
// `ott dump --inventory` wrote (src/state/inventory.ts), a page at a time, in place of an S3 listing. No
// LIST call reaches S3; the entries carry the inventory's size, ETag, storage class and last-modified time,
// and go through the same filter, packer and flags as a listing's.
import type { Ctx } from '../common/context.js';
import type { ObjectLister } from '../common/source/s3List.js';
import { withRetry } from '../common/retry.js';
import { keySha } from '../state/dump.js';
import { inventoryPage, latestInventoryDump } from '../state/inventory.js';

const PAGE = 1000;

/** The index's lister; refused unless the table's latest complete dump read an inventory. */
export async function inventoryLister(ctx: Ctx): Promise<{ lister: ObjectLister; source: string }> {
  const { db, config } = ctx;
  const retry = { maxAttempts: config.max_attempts, budgetMs: config.retry_budget_ms };
  const latest = await latestInventoryDump(db, config.mysql_table);
  if (!latest) {
    throw new Error(
      `publishObjectsList --from-inventory: the latest complete dump of ${config.mysql_table} did not read an S3 Inventory; ` +
        'run `ott dump --inventory s3://BUCKET/PREFIX/` first (or publish without --from-inventory, which lists S3)',
    );
  }
  const lister: ObjectLister = async function* list(dirKey, signal) {
    const dirSha = keySha(dirKey);
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      const page = await withRetry(() => inventoryPage(db, config.mysql_table, dirSha, after, PAGE), { ...retry, signal });
      yield* page.entries;
      if (page.entries.length < PAGE || !page.last) return;
      after = page.last;
    }
  };
  return { lister, source: latest.source };
}
