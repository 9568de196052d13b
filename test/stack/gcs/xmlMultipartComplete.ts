// Completing an XML API multipart upload: the listed parts, in ascending order and each with the ETag its
// upload answered, become one object. As GCS documents it, that object has a CRC32C but no MD5, an ETag
// not based on MD5, and a componentCount (one per part); it replaces any live object of that name (no
// preconditions); and afterwards the upload and all of its parts, used or not, are gone.
import { assemble } from './copy.js';
import type { Exchange } from './exchange.js';
import { etag } from './resource.js';
import type { ObjectMeta, Store } from './store.js';
import { bareEtag, el, parseCompleteBody, xmlBadRequest, xmlDocument, type CompletePart } from './xml.js';
import { findUpload, MAX_OBJECT_BYTES, MIN_PART_BYTES, partEtag, refuse, refusePreconditions, releaseParts, uploads, type MultipartUpload, type UploadedPart } from './xmlMultipartState.js';

/** CompleteMultipartUpload bodies list at most 10,000 parts of ~100 bytes each. */
const COMPLETE_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

/** The parts the body names, checked against the upload: order, existence, ETags, sizes. */
function chosenParts(up: MultipartUpload, listed: CompletePart[]): UploadedPart[] {
  const parts: UploadedPart[] = [];
  let total = 0;
  for (const [i, want] of listed.entries()) {
    if (i > 0 && want.partNumber <= listed[i - 1].partNumber) {
      throw xmlBadRequest('InvalidPartOrder', `The list of parts was not in ascending order: part ${want.partNumber} after part ${listed[i - 1].partNumber}`);
    }
    const have = up.parts.get(want.partNumber);
    if (!have || bareEtag(want.etag) !== have.md5Hex) {
      const why = have ? `its ETag is ${partEtag(have)}, not ${want.etag}` : 'it was never uploaded';
      throw xmlBadRequest('InvalidPart', `One or more of the specified parts could not be found or its ETag did not match: part ${want.partNumber} (${why})`);
    }
    parts.push(have);
    total += have.size;
  }
  for (const p of parts.slice(0, -1)) {
    if (p.size < MIN_PART_BYTES) throw xmlBadRequest('EntityTooSmall', `Part ${p.partNumber} holds ${p.size} bytes: every part but the last must hold at least ${MIN_PART_BYTES}`);
  }
  if (total > MAX_OBJECT_BYTES) throw xmlBadRequest('EntityTooLarge', `The completed object would hold ${total} bytes, more than ${MAX_OBJECT_BYTES}`);
  return parts;
}

/** POST /BUCKET/OBJECT?uploadId=U */
export async function completeUpload(ex: Exchange, store: Store, bucket: string, name: string, id: string): Promise<void> {
  await ex.faultGate('complete', bucket, name);
  try {
    refusePreconditions(ex);
  } catch (err) {
    await refuse(ex, err as Error);
  }
  const text = await ex.text(COMPLETE_BODY_LIMIT_BYTES);
  const up = findUpload(id, bucket, name);
  const parts = chosenParts(up, parseCompleteBody(text));
  store.bucket(bucket);
  // From here the upload is spent, whatever happens: a retried complete answers NoSuchUpload.
  uploads.delete(id);
  let meta: ObjectMeta;
  try {
    meta = await assemble(store, bucket, name, parts, { contentType: 'application/octet-stream', storageClass: up.storageClass, componentCount: parts.length }, up.resource);
    store.stats.uploads++;
    store.stats.bytesReceived += meta.size;
  } finally {
    releaseParts(up);
  }
  const location = `${ex.base}/${encodeURIComponent(bucket)}/${name.split('/').map(encodeURIComponent).join('/')}`;
  const body = xmlDocument('CompleteMultipartUploadResult', el('Location', location) + el('Bucket', bucket) + el('Key', name) + el('ETag', `"${etag(meta)}"`));
  await ex.send(
    200,
    {
      'content-type': 'application/xml; charset=UTF-8',
      etag: `"${etag(meta)}"`,
      'x-goog-hash': `crc32c=${meta.crc32c}`,
      'x-goog-generation': meta.generation,
      'x-goog-metageneration': String(meta.metageneration),
      'x-goog-stored-content-length': String(meta.size),
      'x-goog-component-count': String(parts.length),
    },
    Buffer.from(body),
  );
}
