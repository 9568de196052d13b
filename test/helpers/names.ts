// Unique, valid names per test file, so files running in parallel never share a bucket, topic or database.
import { randomBytes } from 'node:crypto';

/** Lowercase, starts with a letter, digits/dashes allowed: valid for buckets, topics and (with _) databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`.toLowerCase();
}
