// Credentials, as the reference design's secret payload: AWS keys and mysql_config, from Secret Manager
// (`credentials_secret_id`) or a local JSON file (`credentials_file`). Every value is registered with
// the redactor the moment it is read, so no log line or error can carry it.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { z } from 'zod';
import type { Config } from './config/schema.js';
import { readEnv, type Endpoints } from './config/env.js';
import { registerSecret } from './redact.js';
import { googleErrorMessage } from './errors.js';
import { ConfigError } from './config/validate.js';
import { mysqlConfigSchema, resolveSslCa } from './mysqlConfig.js';

export const secretsSchema = z.object({
  aws_key_id: z.string().optional(),
  aws_key_secret: z.string().optional(),
  mysql_config: mysqlConfigSchema,
});
export type Secrets = z.infer<typeof secretsSchema> & { url_signer_private_key?: string };

const require = createRequire(import.meta.url);

export function secretClient(endpoints: Endpoints): SecretManagerServiceClient {
  // Loaded on use: the gRPC stack is heavy and a credentials_file run never needs it.
  const { SecretManagerServiceClient } = require('@google-cloud/secret-manager') as typeof import('@google-cloud/secret-manager');
  const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  if (endpoints.secretManager) {
    const [host, port] = endpoints.secretManager.split(':');
    return new SecretManagerServiceClient({ apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.createInsecure() });
  }
  return new SecretManagerServiceClient();
}

/** `id` is a secret id in `project`, or a full name `projects/P/secrets/S[/versions/V]` (latest by default). */
async function accessSecret(client: SecretManagerServiceClient, project: string | undefined, id: string): Promise<string> {
  const full = id.startsWith('projects/') ? id : `projects/${project}/secrets/${id}`;
  const name = /\/versions\/[^/]+$/.test(full) ? full : `${full}/versions/latest`;
  try {
    const [res] = await client.accessSecretVersion({ name }, { timeout: readEnv().startupTimeoutMs });
    const data = res.payload?.data;
    if (!data) throw new Error('empty payload');
    return Buffer.from(data as Uint8Array).toString('utf8');
  } catch (err) {
    // The message names the secret, never its value.
    throw new Error(`cannot read secret ${name}: ${(err as { details?: string }).details || googleErrorMessage(err)}`, { cause: err });
  }
}

function parsePayload(text: string, source: string): z.infer<typeof secretsSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`credentials from ${source} are not valid JSON`, []); // no parser message: it may quote the secret
  }
  const r = secretsSchema.safeParse(json);
  if (!r.success) {
    const fields = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`credentials from ${source} are invalid: ${fields}`, []);
  }
  return r.data;
}

export async function loadSecrets(config: Readonly<Config>, project: string | undefined, endpoints: Endpoints): Promise<Readonly<Secrets>> {
  let client: SecretManagerServiceClient | undefined;
  const sm = (): SecretManagerServiceClient => (client ??= secretClient(endpoints));
  try {
    let payload: z.infer<typeof secretsSchema>;
    if (config.credentials_file) {
      const text = await readFile(config.credentials_file, 'utf8').catch((err: Error) => {
        throw new ConfigError(`cannot read credentials_file ${config.credentials_file}: ${err.message}`, []);
      });
      payload = parsePayload(text, config.credentials_file);
    } else if (config.credentials_secret_id) {
      if (!project) throw new ConfigError('credentials_secret_id needs a project: give --gcp-project or gcp_project', []);
      payload = parsePayload(await accessSecret(sm(), project, config.credentials_secret_id), `secret ${config.credentials_secret_id}`);
    } else {
      throw new ConfigError('config has neither credentials_secret_id nor credentials_file', []);
    }
    const secrets: Secrets = { ...payload };
    secrets.mysql_config = await resolveSslCa(payload.mysql_config, (id) => {
      if (!project && !id.startsWith('projects/')) throw new ConfigError('mysql_config.ssl_ca names a secret: give --gcp-project or gcp_project', []);
      return accessSecret(sm(), project, id);
    });
    if (config.url_signer_private_key_file) secrets.url_signer_private_key = await readFile(config.url_signer_private_key_file, 'utf8');
    else if (config.url_signer_private_key_secret_id) {
      // Configured means required: a key that cannot be read is an error, never a fall back to unsigned URLs.
      if (!project) throw new ConfigError('url_signer_private_key_secret_id needs a project: give --gcp-project or gcp_project', []);
      secrets.url_signer_private_key = await accessSecret(sm(), project, config.url_signer_private_key_secret_id);
    }
    for (const v of [secrets.aws_key_id, secrets.aws_key_secret, secrets.mysql_config.password, secrets.url_signer_private_key]) registerSecret(v);
    return Object.freeze(secrets);
  } finally {
    await client?.close();
  }
}
