// CloudFront signed URLs: one custom policy whose Resource is a wildcard over the CDN path of
// s3_root_prefix (never the whole distribution: a leaked URL opens only what this migration reads),
// signed once and appended to every object URL until it nears expiry, then signed again, so a worker
// that runs for weeks never sends an expired URL. One RSA signature per policy life instead of one per
// object. The life is short (signed_url_expire_seconds, 1 h by default): CloudFront's access logs record
// query strings, signature included, so a logged URL must be worth little and soon nothing.
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { TransferError } from '../../common/errors.js';

export interface UrlSigner {
  /** The query string to append (`Policy=...&Signature=...&Key-Pair-Id=...`), or '' for plain URLs. */
  query(nowMs?: number): string;
  readonly signed: boolean;
  /** The CDN path (after cloudfront_url_host_pre) every signed URL must start with: the policy covers no other. */
  readonly scopePath: string;
}

export interface SignerOptions {
  /** cloudfront_url_host_pre. */
  hostPre: string;
  /** The encoded CDN path of s3_root_prefix (naming.ts cdnPath): the policy covers `${hostPre}${scopePath}*`. */
  scopePath?: string;
  keyPairId?: string;
  privateKey?: string;
  expireSeconds: number;
}

/** Re-sign when less than this much life is left: 10% of the life, at most an hour. */
export function refreshMarginMs(expireSeconds: number): number {
  return Math.min(expireSeconds * 100, 3600_000);
}

export function customPolicy(resource: string, expiresEpochS: number): string {
  return JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expiresEpochS } } }] });
}

export function createUrlSigner(o: SignerOptions): UrlSigner {
  const { keyPairId, privateKey } = o;
  if (keyPairId && !privateKey) throw new TransferError(`url_signer_key_pair_id ${keyPairId} is set but no signing key was loaded (url_signer_private_key_secret_id or url_signer_private_key_file): refusing to send unsigned URLs`, false);
  if (!keyPairId) return { query: () => '', signed: false, scopePath: '' };
  const base = o.hostPre.endsWith('/') ? o.hostPre : `${o.hostPre}/`;
  const resource = `${base}${o.scopePath ?? ''}*`;
  let current: { query: string; expiresMs: number } | undefined;
  const sign = (nowMs: number): { query: string; expiresMs: number } => {
    const expiresS = Math.floor(nowMs / 1000) + o.expireSeconds;
    let url: string;
    try {
      // The signer re-encodes any URL path it is given, which would undo our segment encoding; we only
      // take the query string it produces and append it to URLs we built ourselves.
      url = getSignedUrl({ url: o.hostPre, keyPairId, privateKey: privateKey!, policy: customPolicy(resource, expiresS) });
    } catch (err) {
      // Never the key itself: only what is wrong with it.
      throw new TransferError(`cannot sign CloudFront URLs with the key of key pair ${keyPairId}: ${(err as Error).message.split('\n')[0]} (check url_signer_private_key_secret_id / url_signer_private_key_file)`, false, { cause: err });
    }
    const q = url.indexOf('?');
    return { query: url.slice(q + 1), expiresMs: expiresS * 1000 };
  };
  return {
    signed: true,
    scopePath: o.scopePath ?? '',
    query(nowMs = Date.now()) {
      if (!current || current.expiresMs - nowMs < refreshMarginMs(o.expireSeconds)) current = sign(nowMs);
      return current.query;
    },
  };
}
