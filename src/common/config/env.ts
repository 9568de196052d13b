// The only place that reads process.env: endpoint overrides for the local stack, read once and frozen.
// In production none is set and every client talks to the real Google and AWS endpoints.
export interface Endpoints {
  /** S3 endpoint URL (path-style addressing is used when set). */
  s3?: string;
  /** GCS JSON API root, e.g. http://127.0.0.1:PORT */
  gcs?: string;
  /** host:port of a plaintext Secret Manager gRPC server. */
  secretManager?: string;
  /** Honoured by the Pub/Sub and Datastore clients themselves; kept for diagnostics and child processes. */
  pubsub?: string;
  datastore?: string;
  /** SQL Admin API root for the Cloud SQL connector (tests only). */
  sqlAdmin?: string;
}

export interface Env {
  endpoints: Readonly<Endpoints>;
  logLevel: string;
  /** How long a start-time read (the config entity, a secret) may retry an unreachable service. */
  startupTimeoutMs: number;
  /** Project for the emulators when neither --gcp-project nor config gcp_project says. */
  defaultProject?: string;
}

let cached: Readonly<Env> | undefined;

export function readEnv(): Readonly<Env> {
  if (cached) return cached;
  const e = process.env;
  cached = Object.freeze({
    endpoints: Object.freeze({
      s3: e.OTT_S3_ENDPOINT || undefined,
      gcs: e.OTT_GCS_ENDPOINT || undefined,
      secretManager: e.OTT_SECRET_MANAGER_ENDPOINT || undefined,
      pubsub: e.PUBSUB_EMULATOR_HOST || undefined,
      datastore: e.DATASTORE_EMULATOR_HOST || undefined,
      sqlAdmin: e.OTT_SQLADMIN_ENDPOINT || undefined,
    }),
    logLevel: (e.OTT_LOG_LEVEL || 'INFO').toUpperCase(),
    startupTimeoutMs: startupTimeoutMs(e.OTT_STARTUP_TIMEOUT_SECONDS),
    defaultProject: e.GOOGLE_CLOUD_PROJECT || e.PUBSUB_PROJECT_ID || e.DATASTORE_PROJECT_ID || undefined,
  });
  return cached;
}

function startupTimeoutMs(v: string | undefined): number {
  if (v === undefined || v === '') return 60_000;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`OTT_STARTUP_TIMEOUT_SECONDS: got ${JSON.stringify(v)}, expected whole seconds from 1 up`);
  return n * 1000;
}

/**
 * The AWS SDK prints a multi-line NodeVersionSupportWarning on stderr when its first client is built under
 * Node < 22 (production VMs run Node 24, infra/image). On Node 20 it is noise in operators' output and in
 * the JSON log stream, so the CLI switches it off through the SDK's own variable, which the SDK reads when
 * a client is built: set before any mode runs, it covers every entry point (bin/ott.mjs, a built main.js,
 * src/main.ts through tsx) and the children of --processes, which inherit it. An operator's own setting
 * stands. (Node's --disable-warning cannot do it: the SDK emits a plain `Warning`, named only in its text.)
 */
export function silenceSdkNodeWarning(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** The environment for child processes we start (gcloud): the parent's, which only this module may read. */
export function childProcessEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
