// The root row: objects directly under s3_root_prefix belong to no subfolder, so they get a row of their
// own whose dir_key is s3_root_prefix itself (a subfolder's dir_key is always longer: root + name + '/').
// Its listing is flat, never recursive: only the keys directly under the root (Delimiter '/'), on S3 and
// on GCS alike, so the subfolders' objects are neither copied twice nor counted as extra or missing.
import type { Config } from '../config/schema.js';

/** Whether dirKey is the root row of this config's s3_root_prefix (listed flat). */
export function isRootDir(dirKey: string, c: Pick<Config, 's3_root_prefix'>): boolean {
  return dirKey === c.s3_root_prefix;
}
