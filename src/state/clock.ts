// The one clock: the database's UTC_TIMESTAMP(). Every statement in src/state compares and stamps with
// it (sessions run in UTC, src/common/db.ts), so VM clocks never decide a lease or a run's instant.
import type { RowDataPacket } from 'mysql2';
import type { Db } from '../common/db.js';

/** The database's UTC clock now, to the millisecond (a Date holds no finer): a run's start. */
export async function dbNow(db: Db): Promise<Date> {
  const [[r]] = await db.query<RowDataPacket[]>('SELECT UTC_TIMESTAMP(6) AS now');
  return r.now as Date;
}

/**
 * The instant's whole second: what a DATETIME column written by UTC_TIMESTAMP() holds. An instant that a
 * whole-second column is compared with must be one too, or a stamp taken in that same second (truncated)
 * would look older than it.
 */
export function wholeSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}
