// The one lease model of the state table (sql/README.md, "The life of a subfolder"). Six claims take
// rows: four publishers (objects lists for cdnTransfer, first and delta, dir lists for syncCheck and rsync), which claim
// rows in batches by id, and two workers (syncCheck, rsync), which claim one subfolder by dir_key. Every
// lease is an owner and an expiry on the row, read and written against one clock, the database's
// UTC_TIMESTAMP() (every session runs in UTC: src/common/db.ts), never a VM's. A lease is free when it
// was never taken or has expired: a crashed holder strands nothing, the next claim takes the row over.
//
// Column names are built in (never config): this map is the only place a statement learns them.
import type { Ctx } from '../common/context.js';
import type { Db } from '../common/db.js';

/**
 * What a publisher publishes: objects lists for cdnTransfer (`cdn`: a subfolder's first; `delta`: what is
 * new or changed in a subfolder already published), or subfolders for syncCheck / rsync.
 */
export type PublishKind = 'cdn' | 'delta' | 'syncCheck' | 'rsync';
/** A worker mode that claims one subfolder at a time. */
export type WorkMode = 'syncCheck' | 'rsync';

export interface LeaseColumns {
  /** Who holds the lease (a worker id: host, pid, random suffix). */
  owner: string;
  /** When it expires, by UTC_TIMESTAMP(); NULL or past: free. */
  until: string;
  /**
   * The published flag the lease serves. A publisher holds its lease until it sets the flag; a worker
   * clears it when it gives a row back, so the publisher sends the row again.
   */
  published: string;
  /** Where a failure's reason is recorded. */
  error: string;
}

/** A worker's lease also carries the reference's `*_in_progress` flag and its run's record. */
export interface WorkLeaseColumns extends LeaseColumns {
  inProgress: string;
  lastStart: string;
  lastEnd: string;
  /** TINYINT UNSIGNED: counted up to 255, never past it. */
  frequency: string;
}

export const LEASES = {
  cdnPublish: { owner: 'cdn_publish_owner', until: 'cdn_publish_lease_until', published: 'cdn_transfer_published', error: 'cdn_publish_error' },
  deltaPublish: { owner: 'delta_publish_owner', until: 'delta_publish_lease_until', published: 'delta_published', error: 'delta_publish_error' },
  syncCheckPublish: { owner: 'sync_check_publish_owner', until: 'sync_check_publish_lease_until', published: 'sync_check_published', error: 'sync_check_publish_error' },
  rsyncPublish: { owner: 'rsync_publish_owner', until: 'rsync_publish_lease_until', published: 'rsync_published', error: 'rsync_publish_error' },
  syncCheck: {
    inProgress: 'sync_check_in_progress', owner: 'sync_check_owner', until: 'sync_check_lease_until', published: 'sync_check_published', error: 'sync_check_error',
    lastStart: 'sync_check_last_start', lastEnd: 'sync_check_last_end', frequency: 'sync_check_frequency',
  },
  rsync: {
    inProgress: 'rsync_in_progress', owner: 'rsync_owner', until: 'rsync_lease_until', published: 'rsync_published', error: 'rsync_error',
    lastStart: 'rsync_last_start', lastEnd: 'rsync_last_end', frequency: 'rsync_frequency',
  },
} as const satisfies Record<'cdnPublish' | 'deltaPublish' | 'syncCheckPublish' | 'rsyncPublish', LeaseColumns> & Record<WorkMode, WorkLeaseColumns>;

const PUBLISH_LEASES = { cdn: LEASES.cdnPublish, delta: LEASES.deltaPublish, syncCheck: LEASES.syncCheckPublish, rsync: LEASES.rsyncPublish } as const;

export function publishLease(kind: PublishKind): LeaseColumns {
  return PUBLISH_LEASES[kind];
}

export function workLease(mode: WorkMode): WorkLeaseColumns {
  return LEASES[mode];
}

/** The other worker mode: a subfolder is held by at most one of syncCheck and rsync at a time. */
export function otherMode(mode: WorkMode): WorkMode {
  return mode === 'syncCheck' ? 'rsync' : 'syncCheck';
}

const isWork = (l: LeaseColumns): l is WorkLeaseColumns => 'inProgress' in l;

/**
 * The lease is free: expired or never taken. A worker's lease with its flag off is free whatever the
 * expiry says, and a flag on with a NULL expiry is the reference's bare flag (set by hand): free too.
 */
export function leaseFree(l: LeaseColumns): string {
  const expired = `${l.until} IS NULL OR ${l.until} < UTC_TIMESTAMP()`;
  return isWork(l) ? `(${l.inProgress} = FALSE OR ${expired})` : `(${expired})`;
}

/**
 * Held by the owner bound to its one `?`. A worker holds its row while the flag is on; a publisher holds
 * its rows until it flags them published (the owner stays on a flagged row, as who published it).
 */
export function heldBy(l: LeaseColumns): string {
  return isWork(l) ? `${l.inProgress} = TRUE AND ${l.owner} = ?` : `${l.owner} = ? AND ${l.published} = FALSE`;
}

/** The subfolder row of the key bound to its one `?`, through the unique index on the key's SHA-256. */
export const BY_KEY = 'dir_key_sha = UNHEX(SHA2(?, 256))';

/** Who takes leases, on which table, for how long: the first argument of every lease transition. */
export interface Holder {
  db: Db;
  /** Config `mysql_table`, quoted by tableName() in every statement. */
  table: string;
  owner: string;
  leaseSeconds: number;
}

/** This process as a lease holder: its worker id, the configured table and lease_seconds. */
export function holderOf(ctx: Pick<Ctx, 'db' | 'config' | 'workerId'>): Holder {
  return { db: ctx.db, table: ctx.config.mysql_table, owner: ctx.workerId, leaseSeconds: ctx.config.lease_seconds };
}
