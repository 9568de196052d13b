// Listing XML API multipart uploads: the parts of one upload (ListParts), and the uploads in progress in a
// bucket (ListMultipartUploads), paged as S3 pages them. Only completed uploads appear in object listings.
import type { Exchange } from './exchange.js';
import { compareNames, type Store } from './store.js';
import { el, xmlBadRequest, xmlDocument } from './xml.js';
import { findUpload, partEtag, uploads, type MultipartUpload } from './xmlMultipartState.js';

const MAX_PAGE = 1000;

function pageSize(ex: Exchange, param: string): number {
  const raw = ex.query.get(param);
  if (raw === null) return MAX_PAGE;
  if (!/^\d+$/.test(raw)) throw xmlBadRequest('InvalidArgument', `${param} must be a whole number, got ${raw}`);
  return Math.min(Number(raw), MAX_PAGE);
}

function sendXml(ex: Exchange, root: string, children: string): Promise<void> {
  return ex.send(200, { 'content-type': 'application/xml; charset=UTF-8' }, Buffer.from(xmlDocument(root, children)));
}

/** GET /BUCKET/OBJECT?uploadId=U[&max-parts=N&part-number-marker=M] */
export async function listParts(ex: Exchange, bucket: string, name: string, id: string): Promise<void> {
  await ex.faultGate('listParts', bucket, name);
  const up = findUpload(id, bucket, name);
  const max = pageSize(ex, 'max-parts');
  const marker = Number(ex.query.get('part-number-marker') ?? 0) || 0;
  const after = [...up.parts.values()].filter((p) => p.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  let out = el('Bucket', bucket) + el('Key', name) + el('UploadId', id) + el('StorageClass', up.storageClass);
  out += el('PartNumberMarker', marker) + el('NextPartNumberMarker', page.at(-1)?.partNumber ?? marker) + el('MaxParts', max) + el('IsTruncated', truncated);
  for (const p of page) out += `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', p.lastModified)}${el('ETag', partEtag(p))}${el('Size', p.size)}</Part>`;
  await sendXml(ex, 'ListPartsResult', out);
}

function byNameThenAge(a: MultipartUpload, b: MultipartUpload): number {
  return compareNames(a.name, b.name) || a.seq - b.seq;
}

/** GET /BUCKET?uploads[&prefix=P&key-marker=K&upload-id-marker=U&max-uploads=N] */
export async function listUploads(ex: Exchange, store: Store, bucket: string): Promise<void> {
  const prefix = ex.query.get('prefix') ?? '';
  await ex.faultGate('listUploads', bucket, prefix);
  store.bucket(bucket);
  if (ex.query.get('delimiter')) throw xmlBadRequest('NotImplemented', 'this emulator does not group multipart uploads by delimiter');
  const max = pageSize(ex, 'max-uploads');
  const keyMarker = ex.query.get('key-marker') ?? '';
  const idMarker = ex.query.get('upload-id-marker') ?? '';
  const all = [...uploads.values()].filter((u) => u.bucket === bucket && u.name.startsWith(prefix)).sort(byNameThenAge);
  // S3's markers: with an upload-id-marker, the uploads of key-marker after that one; else keys after key-marker.
  const markerSeq = idMarker ? uploads.get(idMarker)?.seq : undefined;
  const after = all.filter((u) => {
    if (!keyMarker) return true;
    const c = compareNames(u.name, keyMarker);
    return c > 0 || (c === 0 && markerSeq !== undefined && u.seq > markerSeq);
  });
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  let out = el('Bucket', bucket) + el('KeyMarker', keyMarker) + el('UploadIdMarker', idMarker);
  if (truncated) out += el('NextKeyMarker', page.at(-1)!.name) + el('NextUploadIdMarker', page.at(-1)!.id);
  out += el('MaxUploads', max) + el('IsTruncated', truncated) + el('Prefix', prefix || undefined);
  for (const u of page) out += `<Upload>${el('Key', u.name)}${el('UploadId', u.id)}${el('StorageClass', u.storageClass)}${el('Initiated', u.initiated)}</Upload>`;
  await sendXml(ex, 'ListMultipartUploadsResult', out);
}
