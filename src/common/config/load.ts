// Where the config comes from: a Cloud Datastore entity KIND/NAME (production, as the reference design)
// or a local JSON file (development). Read once at start; the result is validated and frozen.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Datastore } from '@google-cloud/datastore';
import type { Config } from './schema.js';
import { ConfigError, validateConfig } from './validate.js';
import { readEnv } from './env.js';
import { googleErrorMessage } from '../errors.js';
import { fromReference, type Change } from './fromReference.js';

export interface ConfigSource {
  file?: string;
  configKey?: string;
  gcpProject?: string;
}

export function parseConfigKey(configKey: string): { kind: string; name: string } {
  const m = /^([^/]+)\/([^/]+)$/.exec(configKey);
  if (!m) throw new ConfigError(`--config-key: got ${JSON.stringify(configKey)}, expected KIND/NAME (e.g. OttConfig/worker)`, []);
  return { kind: m[1], name: m[2] };
}

const require = createRequire(import.meta.url);

export function datastoreClient(gcpProject: string | undefined): Datastore {
  // Loaded on use: a --config FILE run never needs the Datastore client.
  const { Datastore } = require('@google-cloud/datastore') as typeof import('@google-cloud/datastore');
  return new Datastore(gcpProject ? { projectId: gcpProject } : {});
}

/** Reads the raw entity; a missing entity is an error naming the key and project. */
async function readEntity(ds: Datastore, configKey: string): Promise<Record<string, unknown>> {
  const { kind, name } = parseConfigKey(configKey);
  let entity: unknown;
  try {
    [entity] = await ds.get(ds.key([kind, name]), { gaxOptions: { timeout: readEnv().startupTimeoutMs } });
  } catch (err) {
    throw new Error(`cannot read config entity ${configKey} from Datastore: ${googleErrorMessage(err)}`, { cause: err });
  }
  if (!entity) throw new ConfigError(`config entity ${configKey} not found in Datastore (project ${ds.projectId}); write it with: ott config put --config-key ${configKey} --file cfg.json`, []);
  return { ...(entity as Record<string, unknown>) };
}

export async function loadConfig(src: ConfigSource): Promise<Readonly<Config>> {
  if (src.file && src.configKey) throw new ConfigError('give either --config FILE or --config-key KIND/NAME, not both', []);
  if (src.file) {
    let text: string;
    try {
      text = await readFile(src.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${src.file}: ${(err as Error).message}`, []);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${src.file} is not valid JSON: ${(err as Error).message}`, []);
    }
    return validateConfig(raw, src.file);
  }
  if (src.configKey) {
    const ds = datastoreClient(src.gcpProject);
    return validateConfig(await readEntity(ds, src.configKey), `Datastore entity ${src.configKey}`);
  }
  throw new ConfigError('no config given: use --config FILE or --gcp-project P --config-key KIND/NAME', []);
}

/** Validates then writes the entity; every property unindexed (indexed strings are capped at 1500 bytes). */
export async function putConfig(configKey: string, raw: unknown, gcpProject: string | undefined): Promise<Readonly<Config>> {
  const config = validateConfig(raw, 'the given file');
  const { kind, name } = parseConfigKey(configKey);
  const ds = datastoreClient(gcpProject);
  const data = raw as Record<string, unknown>;
  await ds.save({ key: ds.key([kind, name]), data, excludeFromIndexes: Object.keys(data) });
  return config;
}

/**
 * `ott config migrate`: reads the reference entity at `configKey`, rewrites it (fromReference.ts), validates
 * the result and, unless `dryRun`, writes it to `to` (default: the same key). Nothing is written when the
 * result is invalid: the ConfigError names what is left to fix by hand.
 */
export async function migrateConfigEntity(configKey: string, gcpProject: string | undefined, opts: { to?: string; dryRun?: boolean } = {}): Promise<{ changes: Change[]; advice: Change[]; written?: string }> {
  const ds = datastoreClient(gcpProject);
  const { config, changes, advice } = fromReference(await readEntity(ds, configKey));
  const target = opts.to ?? configKey;
  validateConfig(config, `Datastore entity ${configKey} after migration`);
  if (opts.dryRun) return { changes, advice };
  await putConfig(target, config, gcpProject);
  return { changes, advice, written: target };
}
