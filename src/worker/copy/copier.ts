// Everything one process needs to copy objects, built once from ctx: the HTTP pool, the signer (signed
// once up front so a bad key fails at start, not per object), the GCS client, the tunables.
import type { Dispatcher } from 'undici';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Ctx } from '../../common/context.js';
import { requireFields, type Config } from '../../common/config/schema.js';
import type { Logger } from '../../common/log.js';
import type { ObjectEntry } from '../../common/messages.js';
import { cdnPath } from '../../common/naming.js';
import { timedCopy } from '../../common/metrics.js';
import { createHttp } from './http.js';
import { createUrlSigner, type UrlSigner } from './signer.js';
import { cdnBase, type CdnBase } from './source.js';
import { GcsClient } from './gcsUpload.js';
import { GcsMultipart } from './gcsMultipart.js';
import { copyObject, type CopyOutcome } from './copyObject.js';
import { SlabPool } from './slabs.js';
import { isThrottleStatus, type Pacer } from '../pace.js';
import { bandwidthInterceptor, bandwidthLimiter, type BwSlot } from '../bandwidth.js';

const MiB = 1024 * 1024;
export const GCS_PRODUCTION_ENDPOINT = 'https://storage.googleapis.com';

export interface CopyTunables {
  /** Objects up to this size go in one multipart request; larger ones resumable. */
  singleRequestMaxBytes: number;
  /** Resumable chunk, and the slab size of copy_buffer_bytes (two per resumable upload in flight). Multiple of 256 KiB. */
  chunkBytes: number;
  /** Objects up to this size skip the metadata check and write with ifGenerationMatch=0 (a 412 then checks). */
  optimisticMaxBytes: number;
  /**
   * Objects up to this size (and singleRequestMaxBytes) are read whole into one buffer, verified, then sent
   * in one write: no stream machinery per object, and no byte reaches GCS before the verdict. Memory: at most
   * transfer_concurrency such buffers.
   */
  wholeMaxBytes: number;
}

export const DEFAULT_TUNABLES: CopyTunables = { singleRequestMaxBytes: 8 * MiB, chunkBytes: 8 * MiB, optimisticMaxBytes: 1 * MiB, wholeMaxBytes: 1 * MiB };

export interface CopyDeps extends CopyTunables {
  /** The CDN downloads' client (the pool, with --bwlimit's pacing when set). */
  http: Dispatcher;
  gcs: GcsClient;
  /** GCS's XML API multipart uploads: large objects in parallel parts (parallel.ts). */
  multipart: GcsMultipart;
  /** Objects of at least this size go in parallel parts; parts of a single-part source; parts in flight per object. */
  parallelThresholdBytes: number;
  parallelPartBytes: number;
  parallelParts: number;
  /**
   * Objects copied in parallel parts at once in this process (parallel_objects); a large object that finds
   * none free goes as one stream. Parallel parts fill the pipe for one object: with several large objects
   * in flight the streams are parallel already, and each parallel copy holds up to parallelParts parts.
   */
  parallelSlots: { free: number };
  /** The process's copy buffers (copy_buffer_bytes in slabs of chunkBytes): resumable chunks, parts ahead of the in-order MD5. */
  slabs: SlabPool;
  s3: () => S3Client;
  s3Bucket?: string;
  signer: UrlSigner;
  cdn: CdnBase;
  naming: Pick<Config, 's3_root_prefix' | 'gcs_root_prefix' | 'cloudfront_url_host_pre' | 'replace_key_parts'>;
  gcsBucket: string;
  storageClass?: string;
  maxAttempts: number;
  retryBudgetMs: number;
  /**
   * The fleet's pace (cdnTransfer): a copy whose GCS write was throttled waits for it before trying again,
   * like any object before its first write. None: retries wait for their backoff only.
   */
  pacer?: Pick<Pacer, 'take'>;
  log: Logger;
}

export interface Copier {
  /** Copies one object (retries inside); never throws. `signal` aborts it (shutdown past the grace period). */
  copy(entry: ObjectEntry, signal: AbortSignal): Promise<CopyOutcome>;
  close(): Promise<void>;
  readonly deps: CopyDeps;
}

/**
 * `pacer`: hears every GCS throttle (429/503) from the GCS clients' one request(), and gates every
 * retry of a throttled write (copyObject).
 */
export function createCopier(ctx: Ctx, opts: Partial<CopyTunables> & { concurrency?: number; pacer?: Pick<Pacer, 'take' | 'throttled'>; bwlimit?: BwSlot[] } = {}): Copier {
  const { config } = ctx;
  requireFields(config, 'cdnTransfer', ['gcs_bucket', 'cloudfront_url_host_pre']);
  // Every copy may be a large one, in parallel_parts ranged GETs and part uploads at once.
  const http = createHttp({ connectionsPerOrigin: Math.max(8, opts.concurrency ?? config.transfer_concurrency) * config.parallel_parts });
  const signer = createUrlSigner({
    hostPre: config.cloudfront_url_host_pre!,
    scopePath: cdnPath(config.s3_root_prefix, config),
    keyPairId: config.url_signer_key_pair_id,
    privateKey: ctx.secrets.url_signer_private_key,
    expireSeconds: config.signed_url_expire_seconds,
  });
  signer.query(); // sign now: a bad key is a clear error at start, not a failure per object
  const endpoint = ctx.endpoints.gcs ?? GCS_PRODUCTION_ENDPOINT;
  // Local emulators take no auth; production uses the Storage client's credentials (ADC on the VM).
  const token = ctx.endpoints.gcs ? () => undefined : async () => (await ctx.clients.gcs().authClient.getAccessToken()) ?? undefined;
  const { pacer, bwlimit, ...tunables } = opts;
  // The pacer hears every GCS answer's status (429/503: throttled), whichever step of which upload met it.
  const onStatus = pacer && ((status: number) => void (isThrottleStatus(status) && pacer.throttled()));
  const chunkBytes = tunables.chunkBytes ?? DEFAULT_TUNABLES.chunkBytes;
  const deps: CopyDeps = {
    ...DEFAULT_TUNABLES,
    ...tunables,
    slabs: new SlabPool(chunkBytes, Math.max(1, Math.floor(config.copy_buffer_bytes / chunkBytes))),
    // --bwlimit paces the CDN downloads where their bytes arrive (the GCS side follows the stream).
    http: bwlimit ? http.compose(bandwidthInterceptor(bandwidthLimiter(bwlimit))) : http,
    gcs: new GcsClient(http, endpoint, token, onStatus),
    multipart: new GcsMultipart(http, endpoint, token, onStatus),
    parallelThresholdBytes: config.parallel_threshold_bytes,
    parallelPartBytes: config.parallel_part_bytes,
    parallelParts: config.parallel_parts,
    parallelSlots: { free: config.parallel_objects },
    s3: () => ctx.clients.s3(),
    s3Bucket: config.s3_bucket,
    signer,
    cdn: cdnBase(config.cloudfront_url_host_pre!),
    naming: config,
    gcsBucket: config.gcs_bucket!,
    storageClass: config.gcs_storage_class,
    maxAttempts: config.max_attempts,
    retryBudgetMs: config.retry_budget_ms,
    pacer,
    log: ctx.log,
  };
  return {
    deps,
    copy: (entry, signal) => timedCopy(() => copyObject(deps, entry, signal)),
    close: () => http.close(),
  };
}
