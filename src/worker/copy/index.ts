// The copy path's public API, shared by the cdnTransfer worker and the rsync worker's cdn engine.
export { createCopier, DEFAULT_TUNABLES, type Copier, type CopyTunables } from './copier.js';
export type { CopyOutcome, SkipReason } from './copyObject.js';
export { SKIP_REASONS, sameObject } from './copyObject.js';
export { compareWithGcs, META_SOURCE_ETAG, META_SOURCE_LAST_MODIFIED, META_VERIFIED_BY, type HeldObject, type SameBy, type SameVerdict } from './same.js';
export type { VerifiedBy } from './verify.js';
