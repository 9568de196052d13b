// What GCS refuses before it stores a byte, checked on every path that names a new object (media,
// multipart and resumable uploads, rewrite/copyTo and compose destinations), so a tool that tries is told
// exactly as GCS would tell it. GCS's object naming rules: 1 to 1024 bytes of UTF-8; no carriage return or
// line feed; not `.` or `..`; not starting with `.well-known/acme-challenge/`. And no object over 5 TiB.
import { badRequest, GcsError } from './errors.js';

export const MAX_NAME_BYTES = 1024;
/** GCS's largest object: 5 TiB. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 4;
const ACME_PREFIX = '.well-known/acme-challenge/';

/** Returns the name if GCS accepts it as an object name, else throws GCS's 400. */
export function validName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new GcsError(400, 'required', 'Required parameter: name');
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) {
    // GCS's own wording (it says characters, but counts the UTF-8 bytes it limits), with the name's start.
    const start = [...name].slice(0, 64).join('');
    throw badRequest(`The maximum object length is ${MAX_NAME_BYTES} characters, but got a name with ${bytes} characters: ''${start}...''`);
  }
  if (/[\r\n]/.test(name)) throw badRequest('Disallowed unicode characters present in object name');
  // The texts below are ours: no capture of GCS's wording was at hand; status and reason are GCS's.
  if (name === '.' || name === '..') throw badRequest(`Object name ${JSON.stringify(name)} is not allowed: the names . and .. are invalid`);
  if (name.startsWith(ACME_PREFIX)) throw badRequest(`Object name ${JSON.stringify(name)} is not allowed: names may not start with ${ACME_PREFIX}`);
  return name;
}

/** A resumable session (or chunk) that declares a total above GCS's object size limit: 413 uploadTooLarge. */
export function checkDeclaredSize(total: number | undefined): void {
  if (total === undefined || total <= MAX_OBJECT_BYTES) return;
  throw new GcsError(413, 'uploadTooLarge', `Upload too large: ${total} bytes declared, more than the ${MAX_OBJECT_BYTES}-byte (5 TiB) maximum object size.`);
}
