// The configuration: the reference design's field names and defaults, validated once and frozen.
// SQL text is refused: every query is built in, so a config can never change what a statement does.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseBwlimit } from '../../worker/bandwidth.js';
import { ConfigError } from './validate.js';

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
// A Datastore datetime (the reference stored last_modified_* as such; the client gives a Date) is that instant.
const isoDate = z.preprocess(
  (v) => (v instanceof Date && !Number.isNaN(v.getTime()) ? v.toISOString() : v),
  z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 date-time such as 2024-01-31T00:00:00Z'),
);
/** https, or http to this machine only (the local stack's CDN fixture). */
function httpsOrLoopback(s: string): boolean {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return true; // not a URL: .url() says so
  }
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && (/^127(\.\d{1,3}){3}$/.test(u.hostname) || u.hostname === 'localhost' || u.hostname === '[::1]');
}
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

    cloudfront_url_host_pre: z
      .string()
      .url('expected a URL such as https://d111111abcdef8.cloudfront.net/')
      .refine(httpsOrLoopback, 'expected https: signed URLs must not cross a network in clear (http only for a loopback host: 127.0.0.0/8, localhost, [::1])')
      .optional(),
    replace_key_parts: z.record(z.string().min(1), z.string()).default({}),
    url_signer_key_pair_id: z.string().min(1).optional(),
    url_signer_private_key_secret_id: resourceId.optional(),
    /** Local development: a PEM file instead of the signing-key secret. */
    url_signer_private_key_file: z.string().min(1).optional(),
    // Short (the reference: 7 days): CloudFront's logs keep query strings, signatures included; the
    // signer renews the policy before it expires, so a long run never needs a long life.
    signed_url_expire_seconds: positiveInt(3600 * 24 * 365).default(3600),

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
    /** cdnTransfer: objects of at least this size are copied in parallel parts (ranged GETs -> one GCS XML API multipart upload). */
    parallel_threshold_bytes: positiveInt(5 * 1024 ** 4).default(64 * 1024 * 1024),
    /** The part size for a single-part source (a multipart source's parts are its own S3 parts); GCS takes at least 5 MiB but for the last. */
    parallel_part_bytes: z.number().int().min(5 * 1024 * 1024).max(5 * 1024 ** 3).default(8 * 1024 * 1024),
    /**
     * Parts of one object in flight at once (each one ranged GET streaming into one part upload). One
     * connection over a WAN is capped (50 MiB/s, say): 8 parts reach up to 8x one stream. Memory does not
     * grow with it: parts stream, and those ahead of the in-order MD5 wait in copy_buffer_bytes' slabs.
     */
    parallel_parts: positiveInt(32).default(8),
    /** Objects one process copies in parallel parts at once; other large objects meanwhile go as one stream each (memory: parallel_objects x parallel_parts parts). */
    parallel_objects: positiveInt(64).default(1),
    /**
     * cdnTransfer: bytes one process holds for copies itself, in 8 MiB slabs reused for its life: 2 per
     * object going as one resumable stream (the chunk on the wire, kept for a resend, and the next), 6 per
     * object in parallel parts (parts arriving ahead of the in-order MD5). A copy waits for its slabs
     * before its GET; everything else streams. Peak RSS is about the idle process (~115-145 MiB) plus this.
     */
    copy_buffer_bytes: z.number().int().min(8 * 1024 * 1024).max(64 * 1024 ** 3).default(64 * 1024 * 1024),
    lease_seconds: positiveInt(7 * 24 * 3600).default(900),
    grace_period_seconds: positiveInt(3600).default(600),
    rsync_engine: z.enum(['cdn', 'gcloud']).default('cdn'),
    rsync_timeout_seconds: positiveInt(7 * 24 * 3600).default(6 * 3600),
    /** A subfolder still mismatched after this many rsyncs (with no equal check between) is failed, with the reason. */
    max_rsync_attempts: positiveInt(1000).default(5),
    /** The wait before a subfolder's next rsync: this after the first, doubled after each further one (at most a day). */
    rsync_backoff_seconds: positiveInt(24 * 3600).default(300),
    delete_unmatched: z.boolean().default(false),

    /** The fleet's pace (cdnTransfer): GCS asks a new bucket to start near 1,000 object writes/s and to double at most every 20 minutes. */
    gcs_ramp_enabled: z.boolean().default(true),
    gcs_ramp_start_writes_per_second: positiveInt(1_000_000).default(1000),
    gcs_ramp_doubling_seconds: positiveInt(24 * 3600).default(1200),
    gcs_ramp_max_writes_per_second: positiveInt(100_000_000).default(1_000_000),
    /** After a 429/503 from GCS the whole fleet pauses this long, and the rate halves. */
    gcs_throttle_backoff_seconds: positiveInt(3600).default(30),
    /** Per worker (VM): a cap on objects started per second, shared by its processes. */
    max_objects_per_second: z.number().positive().optional(),
    /** cdnTransfer: bytes/s each process may read from the CDN, e.g. "50M", or a daily schedule "08:00,50M 18:00,off" (local time). */
    bwlimit: z
      .string()
      .min(1)
      .refine((v) => {
        try {
          parseBwlimit(v);
          return true;
        } catch {
          return false;
        }
      }, 'expected a rate such as 50M or 512K, off, or a schedule such as "08:00,50M 18:00,off"')
      .optional(),
    /** publishObjectsList stops when what it published is estimated (ott estimate's prices) to cost this much. */
    spend_cap_usd: z.number().positive().optional(),
    /** A price file overriding pricing/list-prices.json (negotiated rates), for the spend cap. */
    prices_file: z.string().min(1).optional(),
    /** The subscription's message retention: publishing holds while the backlog would outlast half of it. */
    pubsub_retention_seconds: positiveInt(31 * 24 * 3600).default(7 * 24 * 3600),
    /** The failed-object ledger's bound per state table: past it, the oldest resolved entries are pruned (open ones never). */
    failed_ledger_max_rows: positiveInt(1_000_000_000).default(1_000_000),
    /** How often workers heartbeat (register, read the fleet's pace, write their per-minute throughput). */
    heartbeat_seconds: z.number().min(0.1).max(300).default(5),
    /**
     * Workers and publishers: serve Prometheus metrics on this port (unset: no server; --metrics-port
     * overrides). cdnTransfer --processes N uses this port and the N-1 above it, one per process.
     */
    metrics_port: z.number().int().min(1).max(65535).optional(),
    /** The address the metrics server listens on (--metrics-bind overrides); the Ops Agent scrapes 127.0.0.1. */
    metrics_bind: z.string().refine((v) => isIP(v) !== 0, 'expected an IP address to listen on, such as 127.0.0.1 (0.0.0.0 opens the metrics to the network)').default('127.0.0.1'),
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
  if (missing.length) throw new ConfigError(`config for ${mode} is missing ${missing.join(', ')}: set ${missing.length > 1 ? 'them' : 'it'} with ott config put`, missing.map(String));
}
