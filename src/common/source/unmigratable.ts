// Objects in scope that cannot be migrated as they are, each with its own recorded outcome instead of a
// retry loop: archived ones (S3 will not serve them until restored) and ones GCS cannot hold (the name or
// the size). Every listing consumer (the publisher, syncCheck, rsync) classifies through here, so they
// count the same objects; the state table keeps per subfolder count, bytes and a sample
// (src/state/exclusions.ts), and `ott status` shows them on their own lines, never as done.
//
// Archived: GLACIER and DEEP_ARCHIVE objects are known from the listing's storage class. Neither S3 nor
// CloudFront serves them (a GET is 403 InvalidObjectState) until restored, so by default (no
// `storage_class` in the config) only the classes CloudFront can serve are in scope and these are
// recorded as archived. An operator who restored them names their class in `storage_class`: then they
// are fetched, and one still archived is known by the HEAD below or the CDN's 403, never retried.
// INTELLIGENT_TIERING objects in an archive tier list as INTELLIGENT_TIERING: only HEAD
// (`x-amz-archive-status`) or the GET's 403 tells.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { ObjectEntry } from '../messages.js';
import { gcsObjectName } from '../naming.js';
import { withRetry, type RetryLimits } from '../retry.js';
import { ARCHIVE_CLASSES, objectFilter, type FilterReason } from './filter.js';

/** Classes an in-scope object may still be archived in: HEAD tells (restore state, archive tier). */
const MAYBE_ARCHIVED = new Set([...ARCHIVE_CLASSES, 'INTELLIGENT_TIERING']);

/** GCS's limits on an object: name bytes (UTF-8) and size (5 TiB). */
export const GCS_MAX_NAME_BYTES = 1024;
export const GCS_MAX_OBJECT_BYTES = 5 * 1024 ** 4;
const ACME_PREFIX = '.well-known/acme-challenge/';

export type ExclusionKind = 'archived' | 'unmigratable';

/** Why an object in scope is not copied: recorded, shown in status, never retried. */
export interface Exclusion {
  kind: ExclusionKind;
  /** archived: the class (and tier); unmigratable: what GCS refuses. */
  why: string;
}

/** What to do about each kind, for status and logs. */
export const EXCLUSION_ADVICE: Record<ExclusionKind, string> = {
  archived:
    'restore them in S3 (RestoreObject or S3 Batch Operations; an Intelligent-Tiering archive tier returns to the frequent tier), ' +
    'add GLACIER / DEEP_ARCHIVE to storage_class if their class is one, then re-run: publishDirList --purpose syncCheck --recheck, and rsync',
  unmigratable: 'GCS cannot hold them as they are: rename them in S3 (or map the names with gcs_root_prefix), or copy them another way; never retried',
};

/** Why GCS would refuse this object name, or undefined (the rules GCS applies to every upload). */
export function gcsNameProblem(name: string): string | undefined {
  if (/[\r\n]/.test(name)) return 'carriage return or line feed in the name';
  if (name === '.' || name === '..') return 'the name is "." or ".."';
  if (Buffer.byteLength(name) > GCS_MAX_NAME_BYTES) return 'longer than 1,024 bytes';
  if (name.startsWith(ACME_PREFIX)) return `the ${ACME_PREFIX} prefix`;
  return undefined;
}

/** Why GCS cannot hold the object `o` would become (its name after the prefix mapping, its size), or undefined. */
export function unmigratableWhy(o: Pick<ObjectEntry, 'key' | 'size'>, c: Pick<Config, 's3_root_prefix' | 'gcs_root_prefix'>): string | undefined {
  const problem = gcsNameProblem(gcsObjectName(o.key, c));
  if (problem) return `GCS refuses the name: ${problem}`;
  if (o.size > GCS_MAX_OBJECT_BYTES) return `${o.size} bytes, over GCS's 5 TiB object limit`;
  return undefined;
}

export type ScopeVerdict = { keep: true } | { keep: false; why: FilterReason } | { keep: false; excluded: Exclusion };

/**
 * The scope every listing consumer applies: the config's filters (objectFilter; by default the
 * servable classes), archived objects dropped by that default recorded as archived rather than
 * silently filtered, then what GCS cannot hold.
 */
export function sourceScope(c: Pick<Config, 'last_modified_after' | 'last_modified_before' | 'storage_class' | 's3_root_prefix' | 'gcs_root_prefix'>): (o: ObjectEntry) => ScopeVerdict {
  const filter = objectFilter(c);
  // No storage_class (or an empty list): the default scope, whose archived objects are recorded, not filtered.
  const byDefault = c.storage_class === undefined || (Array.isArray(c.storage_class) && c.storage_class.length === 0);
  return (o) => {
    const f = filter(o);
    if (!f.keep) {
      if (byDefault && f.why === 'storage_class') return { keep: false, excluded: { kind: 'archived', why: o.storage_class ?? 'STANDARD' } };
      return f;
    }
    const why = unmigratableWhy(o, c);
    return why ? { keep: false, excluded: { kind: 'unmigratable', why } } : f;
  };
}

/**
 * For an in-scope object that is not in GCS: is it archived right now? Only for classes that can be
 * (GLACIER / DEEP_ARCHIVE not restored, Intelligent-Tiering in an archive tier); one HEAD, our retries.
 */
export async function archivedNow(s3: S3Client, bucket: string, o: ObjectEntry, retry: RetryLimits, signal: AbortSignal): Promise<Exclusion | undefined> {
  if (!o.storage_class || !MAYBE_ARCHIVED.has(o.storage_class)) return undefined;
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3'); // status and the CLI's start need no SDK
  const head = await withRetry(() => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }), { abortSignal: signal }), { ...retry, signal });
  if (head.ArchiveStatus) return { kind: 'archived', why: `${o.storage_class} ${head.ArchiveStatus}` };
  // GLACIER / DEEP_ARCHIVE: served only while a finished restore lasts (x-amz-restore: ongoing-request="false").
  if (ARCHIVE_CLASSES.has(o.storage_class) && !/ongoing-request="false"/.test(head.Restore ?? '')) return { kind: 'archived', why: `${o.storage_class}${head.Restore ? ' (restore in progress)' : ''}` };
  return undefined;
}

/**
 * The archived answer of an S3 origin passed through by CloudFront (403 `InvalidObjectState`, with the
 * object's StorageClass and AccessTier), as the reason of a failure never retried; undefined for any
 * other answer.
 */
export function archivedAnswer(status: number, body: string): string | undefined {
  if (status !== 403 || !/<Code>\s*InvalidObjectState\s*<\/Code>/.test(body)) return undefined;
  const cls = /<StorageClass>([^<]*)<\/StorageClass>/.exec(body)?.[1];
  const tier = /<AccessTier>([^<]*)<\/AccessTier>/.exec(body)?.[1];
  return `archived in S3 (403 InvalidObjectState${cls ? `, ${cls}` : ''}${tier ? ` ${tier}` : ''}): not retried; restore it, then re-run`;
}

/** One kind's tally for a subfolder: count, bytes, a sample of keys with why. */
export interface ExclusionTally {
  objects: number;
  bytes: number;
  sample: { key: string; why: string }[];
}

export const EXCLUSION_SAMPLE = 10;

/** Both kinds' tallies for one subfolder, as a listing pass finds them. */
export class Exclusions {
  readonly archived: ExclusionTally = { objects: 0, bytes: 0, sample: [] };
  readonly unmigratable: ExclusionTally = { objects: 0, bytes: 0, sample: [] };

  add(o: Pick<ObjectEntry, 'key' | 'size'>, e: Exclusion): void {
    const t = this[e.kind];
    t.objects++;
    t.bytes += o.size;
    if (t.sample.length < EXCLUSION_SAMPLE) t.sample.push({ key: o.key, why: e.why });
  }

  get any(): boolean {
    return this.archived.objects + this.unmigratable.objects > 0;
  }
}

/** Never silent: one WARN per kind found in a subfolder, with its count, bytes, sample and what to do. */
export function logExclusions(log: Logger, what: string, dirKey: string, e: Exclusions): void {
  for (const kind of ['archived', 'unmigratable'] as const) {
    const t = e[kind];
    if (t.objects) log.warn(`${what}: ${t.objects} ${kind} object(s) in ${dirKey} not migrated: ${EXCLUSION_ADVICE[kind]}`, { dir_key: dirKey, objects: t.objects, bytes: t.bytes, sample: t.sample });
  }
}
