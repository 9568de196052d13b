// The configuration: the reference design's field names and defaults, validated once and frozen.
// SQL text is refused: every query is built in, so a config can never change what a statement does.
import { z } from 'zod';

/** Fields of the reference design that held SQL text; we refuse them by name with a clear reason. */
export const REFUSED_SQL_FIELDS = ['pull_query', 'update_query', 'start_query', 'end_query', 'insert_query'] as const;

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a plain SQL identifier: letters, digits and _, not starting with a digit, at most 64 characters');
const resourceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~%+-]{0,254}$/, 'expected a resource id (letters, digits, . _ ~ % + -)');
const prefix = z
  .string()
  .refine((s) => s === '' || s.endsWith('/'), 'expected a folder prefix ending in "/" (or "" for the bucket root)')
  .refine((s) => !s.startsWith('/'), 'expected no leading "/": S3 and GCS keys do not start with one');
const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 date-time such as 2024-01-31T00:00:00Z');
const positiveInt = (max: number) => z.number().int().min(1).max(max);

export const STORAGE_CLASSES = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'GLACIER_IR', 'DEEP_ARCHIVE', 'OUTPOSTS', 'EXPRESS_ONEZONE'] as const;
export const GCS_STORAGE_CLASSES = ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE'] as const;

export const configSchema = z
  .object({
    gcp_project: z.string().min(1).optional(),
    logger_name: z.string().min(1).default('object-transfer-tool'),
    mysql_table: identifier,
    credentials_secret_id: resourceId.optional(),
    /** Local development: a JSON file with the credentials secret's payload instead of Secret Manager. */
    credentials_file: z.string().min(1).optional(),

    aws_region: z.string().min(1).default('us-east-1'),
    s3_bucket: z.string().min(3).max(63).optional(),
    s3_root_prefix: prefix.default(''),
    /**
     * S3 storage classes to transfer (the reference's storage_class filter). Unset or empty: every class
     * CloudFront can serve; GLACIER / DEEP_ARCHIVE objects are then recorded as archived (unmigratable.ts).
     */
    storage_class: z.union([z.enum(STORAGE_CLASSES), z.array(z.enum(STORAGE_CLASSES))]).optional(),
    last_modified_after: isoDate.optional(),
    last_modified_before: isoDate.optional(),

    gcs_bucket: z.string().min(3).max(222).optional(),
    gcs_root_prefix: prefix.default(''),
    gcs_storage_class: z.enum(GCS_STORAGE_CLASSES).optional(),

    cloudfront_url_host_pre: z.string().url('expected a URL such as https://d111111abcdef8.cloudfront.net/').optional(),
    replace_key_parts: z.record(z.string().min(1), z.string()).default({}),
    url_signer_key_pair_id: z.string().min(1).optional(),
    url_signer_private_key_secret_id: resourceId.optional(),
    /** Local development: a PEM file instead of the signing-key secret. */
    url_signer_private_key_file: z.string().min(1).optional(),
    signed_url_expire_seconds: positiveInt(3600 * 24 * 365).default(3600 * 24 * 7),

    pubsub_topic_id: resourceId.optional(),
    pubsub_subscription_id: resourceId.optional(),
    error_pubsub_topic_id: resourceId.optional(),
    dead_letter_topic_id: resourceId.optional(),
    max_messages_per_batch: positiveInt(1000).default(10),
    num_single_message: positiveInt(10_000).default(50),
    num_messages: positiveInt(10_000).default(1),

    transfer_concurrency: positiveInt(1024).default(32),
    max_attempts: positiveInt(100).default(5),
    retry_budget_ms: positiveInt(24 * 3600 * 1000).default(120_000),
    lease_seconds: positiveInt(7 * 24 * 3600).default(900),
    grace_period_seconds: positiveInt(3600).default(600),
    rsync_engine: z.enum(['cdn', 'gcloud']).default('cdn'),
    rsync_timeout_seconds: positiveInt(7 * 24 * 3600).default(6 * 3600),
    delete_unmatched: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.last_modified_after && c.last_modified_before && Date.parse(c.last_modified_after) >= Date.parse(c.last_modified_before)) {
      ctx.addIssue({ code: 'custom', path: ['last_modified_after'], message: `expected a date before last_modified_before (${c.last_modified_before})` });
    }
    if (c.url_signer_key_pair_id && !c.url_signer_private_key_secret_id && !c.url_signer_private_key_file) {
      ctx.addIssue({ code: 'custom', path: ['url_signer_private_key_secret_id'], message: 'expected with url_signer_key_pair_id: the secret holding the signing key' });
    }
    if (!c.url_signer_key_pair_id && (c.url_signer_private_key_secret_id || c.url_signer_private_key_file)) {
      ctx.addIssue({ code: 'custom', path: ['url_signer_key_pair_id'], message: 'expected with a signing key: the CloudFront key pair (public key) id' });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** The fields each mode cannot run without; checked when the mode starts, naming what is missing. */
export function requireFields<K extends keyof Config>(config: Config, mode: string, fields: K[]): void {
  const missing = fields.filter((f) => config[f] === undefined || config[f] === '');
  if (missing.length) throw new Error(`config for ${mode} is missing ${missing.join(', ')}: set ${missing.length > 1 ? 'them' : 'it'} with ott config put`);
}
