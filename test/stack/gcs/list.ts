// objects.list: walks the bucket's sorted name index from the first candidate; maxResults counts items
// and prefixes together, as GCS does. The page token is the next name to consider.
import { badRequest } from './errors.js';
import type { Exchange } from './exchange.js';
import { objectResource } from './resource.js';
import { compareNames, lowerBound, type Store } from './store.js';

const MAX_PAGE = 1000;

function maxOf(...names: string[]): string {
  return names.reduce((a, b) => (compareNames(a, b) >= 0 ? a : b));
}

export async function listObjects(ex: Exchange, store: Store, bucket: string): Promise<void> {
  await ex.faultGate('list', bucket, ex.query.get('prefix') ?? '');
  const b = store.bucket(bucket);
  const q = ex.query;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const endOffset = q.get('endOffset') ?? '';
  const trailing = q.get('includeTrailingDelimiter') === 'true';
  const maxResults = Math.min(Number(q.get('maxResults') ?? MAX_PAGE) || MAX_PAGE, MAX_PAGE);
  const tokenRaw = q.get('pageToken');
  let token = '';
  if (tokenRaw) {
    token = Buffer.from(tokenRaw, 'base64url').toString('utf8');
    if (!token) throw badRequest(`Invalid page token: ${tokenRaw}`);
  }
  const items: Record<string, unknown>[] = [];
  const prefixes: string[] = [];
  const inRange = (name: string): boolean => name.startsWith(prefix) && (!endOffset || compareNames(name, endOffset) < 0);
  let i = lowerBound(b.sorted, maxOf(prefix, q.get('startOffset') ?? '', token));
  let nextPageToken: string | undefined;
  while (i < b.sorted.length && inRange(b.sorted[i])) {
    const name = b.sorted[i];
    if (items.length + prefixes.length >= maxResults) {
      nextPageToken = Buffer.from(name).toString('base64url');
      break;
    }
    const d = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
    if (d < 0) {
      items.push(objectResource(ex.base, b.objects.get(name)!));
      i++;
      continue;
    }
    const p = name.slice(0, d + delimiter.length);
    prefixes.push(p);
    if (trailing && name === p) items.push(objectResource(ex.base, b.objects.get(name)!));
    // Skip every name under this prefix: the first name past them all.
    i = lowerBound(b.sorted, p + '\u{10FFFF}');
    while (i < b.sorted.length && b.sorted[i].startsWith(p)) i++;
  }
  const out: Record<string, unknown> = { kind: 'storage#objects' };
  if (nextPageToken) out.nextPageToken = nextPageToken;
  if (prefixes.length) out.prefixes = prefixes;
  if (items.length) out.items = items;
  await ex.sendJson(200, out);
}
