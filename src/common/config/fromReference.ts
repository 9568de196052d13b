// `ott config migrate`: a config entity of the reference design rewritten into ours, with every change
// said. The reference kept SQL text in its entities (refused here: every query is built in), stored
// last_modified_* as Datastore datetimes, some numbers as strings ("num_messages": "(str) ..."), and
// None for unset optional fields. Loading a config never does this silently: a config is what it says.
import { configSchema, REFUSED_SQL_FIELDS } from './schema.js';

/** What replaced each SQL field of the reference (sql/README.md has the statements). */
export const SQL_REPLACEMENTS: Record<(typeof REFUSED_SQL_FIELDS)[number], string> = {
  insert_query: 'built in: `ott dump` inserts only the subfolders not in the table (src/state/dump.ts loadNewDirs / insertNewDirs)',
  pull_query: 'built in: the publishers claim rows with leases (src/state/publish.ts claimForPublish; publishable.ts says which rows)',
  update_query: 'built in: rows are flagged only after Pub/Sub acknowledged them (src/state/publish.ts markObjectsPublished / markDirPublished)',
  start_query: 'built in: syncCheck and rsync claim a subfolder with a lease on *_in_progress (src/state/work.ts claimDir)',
  end_query: 'built in: the end state is written by the lease owner only (src/state/work.ts finishDir / failDir)',
};

export interface Change {
  field: string;
  /** One line: what happened to the field and why. */
  note: string;
}

export interface Migrated {
  config: Record<string, unknown>;
  changes: Change[];
  /** Values kept as they were that deserve a second look. */
  advice: Change[];
}

type Shape = Record<string, { safeParse(v: unknown): { success: boolean } }>;
const shape = configSchema.shape as unknown as Shape;
const accepts = (field: string, v: unknown): boolean => field in shape && shape[field].safeParse(v).success;

/** Rewrites a raw reference entity; fields it does not know are left for validation to name. */
export function fromReference(raw: Record<string, unknown>): Migrated {
  const config: Record<string, unknown> = {};
  const changes: Change[] = [];
  for (const [field, value] of Object.entries(raw)) {
    if ((REFUSED_SQL_FIELDS as readonly string[]).includes(field)) {
      changes.push({ field, note: `dropped (SQL text is refused): ${SQL_REPLACEMENTS[field as keyof typeof SQL_REPLACEMENTS]}` });
      continue;
    }
    if (value === null || value === undefined) {
      changes.push({ field, note: 'dropped: None in the reference, so the default applies' });
      continue;
    }
    if (value instanceof Date) {
      const iso = Number.isNaN(value.getTime()) ? undefined : value.toISOString();
      if (iso && accepts(field, iso)) {
        config[field] = iso;
        changes.push({ field, note: `Datastore datetime -> "${iso}"` });
        continue;
      }
    }
    if (typeof value === 'string' && field in shape && !accepts(field, value)) {
      const trimmed = value.trim();
      const asNumber = /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
      const asBool = /^(true|false)$/i.test(trimmed) ? trimmed.toLowerCase() === 'true' : undefined;
      const converted = asNumber !== undefined && accepts(field, asNumber) ? asNumber : asBool !== undefined && accepts(field, asBool) ? asBool : undefined;
      if (converted !== undefined) {
        config[field] = converted;
        changes.push({ field, note: `string ${JSON.stringify(value)} -> ${typeof converted} ${String(converted)}` });
        continue;
      }
    }
    config[field] = value;
  }
  const advice: Change[] = [];
  const life = config.signed_url_expire_seconds;
  if (typeof life === 'number' && life > 3600) {
    advice.push({ field: 'signed_url_expire_seconds', note: `kept ${life} s; ott signs again before expiry, so the default 3600 is enough, and CloudFront's access logs keep every signed URL's query string: remove the field to use it` });
  }
  return { config, changes, advice };
}
