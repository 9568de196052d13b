// Turns raw input into a frozen Config, or an error that names every bad field, its value and what was expected.
import { configSchema, REFUSED_SQL_FIELDS, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'list' : v instanceof Date ? 'datetime' : typeof v;
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export function validateConfig(raw: unknown, source: string): Readonly<Config> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`config from ${source} is not a JSON object (got ${show(raw)})`, []);
  }
  const problems: string[] = [];
  const input = { ...(raw as Record<string, unknown>) };
  for (const f of REFUSED_SQL_FIELDS) {
    if (f in input) {
      problems.push(`${f}: SQL text in configuration is refused; queries are built in (remove the field; \`ott config migrate\` does it for a reference entity)`);
      delete input[f];
    }
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        // Never the value: a secret pasted into a misspelt field must not reach a log or a terminal.
        for (const k of issue.keys) problems.push(`${k}: unknown field (a ${kindOf(input[k])}; its value is not shown); check its spelling against the documented fields`);
        continue;
      }
      const field = issue.path.join('.') || '(root)';
      let value: unknown = input;
      for (const p of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey];
      const hint = typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) && /number/.test(issue.message) ? ' (a number stored as a string: `ott config migrate` converts a reference entity)' : '';
      problems.push(`${field}: got ${show(value)}, ${issue.message}${hint}`);
    }
  }
  if (problems.length || !parsed.success) {
    throw new ConfigError(`invalid config from ${source}:\n  - ${problems.join('\n  - ')}`, problems);
  }
  return deepFreeze(parsed.data);
}
