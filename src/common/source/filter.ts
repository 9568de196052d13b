// Which listed objects are in scope: the one filter every mode applies (the publisher before it
// publishes, syncCheck and rsync before they count or compare), so all of them count the same objects.
import type { Config } from '../config/schema.js';
import type { ObjectEntry } from '../messages.js';

/** Storage classes whose objects S3 (and so CloudFront) will not serve until restored (unmigratable.ts). */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** The config field whose filter dropped an object. */
export type FilterReason = 'last_modified_after' | 'last_modified_before' | 'storage_class';

export interface ObjectFilter {
  /** Whether this object is to be transferred; `why` names the filter that dropped it. */
  (o: ObjectEntry): { keep: true } | { keep: false; why: FilterReason };
}

/**
 * The reference's filters: modified strictly after `last_modified_after` and strictly before
 * `last_modified_before`, in one of `storage_class` (S3 omits the class for STANDARD objects); without
 * `storage_class`, in one of the classes CloudFront can serve (not GLACIER / DEEP_ARCHIVE, which
 * sourceScope() in unmigratable.ts records as archived).
 */
export function objectFilter(c: Pick<Config, 'last_modified_after' | 'last_modified_before' | 'storage_class'>): ObjectFilter {
  const after = c.last_modified_after ? Date.parse(c.last_modified_after) : undefined;
  const before = c.last_modified_before ? Date.parse(c.last_modified_before) : undefined;
  const classes = c.storage_class === undefined ? undefined : new Set<string>(Array.isArray(c.storage_class) ? c.storage_class : [c.storage_class]);
  const keepAll = { keep: true } as const;
  const archived = { keep: false, why: 'storage_class' } as const;
  // No filter configured (the usual case): no date to parse on each of millions of keys.
  if (after === undefined && before === undefined && !classes?.size) return (o) => (o.storage_class !== undefined && ARCHIVE_CLASSES.has(o.storage_class) ? archived : keepAll);
  return (o) => {
    const t = Date.parse(o.last_modified);
    if (after !== undefined && !(t > after)) return { keep: false, why: 'last_modified_after' };
    if (before !== undefined && !(t < before)) return { keep: false, why: 'last_modified_before' };
    if (classes?.size ? !classes.has(o.storage_class ?? 'STANDARD') : o.storage_class !== undefined && ARCHIVE_CLASSES.has(o.storage_class)) return archived;
    return keepAll;
  };
}
