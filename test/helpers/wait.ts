// Waiting for a condition, never for a stretch of time: a sleep that hopes the world moved on passes or
// fails by the machine's load; a poll with a deadline waits exactly as long as needed and names what it
// waited for when it gives up.
import type { Pool, RowDataPacket } from 'mysql2/promise';

/** Polls until fn returns a truthy value and returns it; fails naming `what` after timeoutMs (a wait, not a timing assertion). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Polls until `select` (a query whose first row has a column `ok`) answers 1. For stamps the database
 * wrote (leases, retry delays, publish times): DATETIMEs hold whole seconds, and only the database's own
 * clock orders them, e.g. `SELECT lease_until < UTC_TIMESTAMP() AS ok FROM t WHERE dir_key = ?`.
 */
export async function waitForDb(db: Pool, what: string, select: string, params: unknown[] = [], timeoutMs = 60_000): Promise<void> {
  await waitFor(what, async () => {
    const [rows] = await db.query<RowDataPacket[]>(select, params);
    if (rows.length === 0) throw new Error(`waiting for ${what}: the query found no row: ${select}`);
    return Number(rows[0].ok) === 1;
  }, timeoutMs);
}
