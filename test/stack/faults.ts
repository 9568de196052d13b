// Programmable fault injection, shared by our fixture servers (GCS emulator, CloudFront fixture), in the
// spirit of Google's storage-testbench: a test posts rules, the server consults the table on every
// request, and each rule is spent after `times` matching requests.
//
// Control API on each fixture (never under a path a real client uses):
//   POST   /__faults   body: one FaultRule or an array of them  -> 200 {"ids":[...]}
//   GET    /__faults[?bucket=B]   -> 200 [{...rule, id, hits, remaining}] (every rule, or those whose match names bucket B)
//   DELETE /__faults[?bucket=B]   -> 204 (clears every rule, or those whose match names bucket B)

/** What a fault does to the request it hits. */
export type FaultAction =
  /** Answer this status (with the service's own error body shape) instead of serving the request. */
  | { status: number; message?: string }
  /** Destroy the socket: before any response byte, or after about half of the response body. */
  | { reset: 'before-response' | 'mid-body' }
  /** Declare the full Content-Length but end the body after about half of it (a truncated body). */
  | { truncate: true }
  /** Serve the full length with one byte flipped about halfway (silent corruption on the wire). */
  | { corrupt: true }
  /** Wait this long before answering (then serve normally). */
  | { delayMs: number }
  /**
   * GCS emulator uploads only: accept the upload without checking the client's hashes and store it with
   * one byte flipped, reporting the stored bytes' own md5Hash/crc32c (a store that silently corrupts).
   */
  | { storeCorrupt: true }
  /**
   * GCS emulator resumable chunks only: keep part of what this chunk PUT sent and answer 308 with a Range
   * that acknowledges only that, as real GCS may persist fewer bytes than a chunk carried. Keeps the first
   * half of the chunk's new bytes, or all but the last `dropBytes` of them (64 KiB when the chunk's length
   * is not declared). A client must resend from the acknowledged offset.
   */
  | { shortAck: true; dropBytes?: number }
  /**
   * CDN fixture only: serve another key of the same bucket in this one's place, its bytes and headers (ETag
   * included), as an edge still holding an overwritten object's old copy does. Keep the old version under
   * that key to make a stale cache.
   */
  | { serveKey: string }
  /** CDN fixture only: drop the viewer's Range and answer 200 with the whole object, as some proxies do. */
  | { ignoreRange: true };

export interface FaultMatch {
  /** HTTP method, e.g. GET. */
  method?: string;
  /**
   * The fixture's name for the operation. GCS emulator: upload (every upload request, including each
   * resumable chunk), download (media), metadata, list, delete, patch, rewrite, compose, bucket; XML API
   * multipart uploads: initiate, part, complete, abort, listParts, listUploads.
   * CDN fixture: get, head.
   */
  op?: string;
  bucket?: string;
  /** The object key / name starts with this. */
  prefix?: string;
  /** GCS emulator op `part`: only this part number of a multipart upload. */
  partNumber?: number;
}

export interface FaultRule {
  match?: FaultMatch;
  /** Matching requests to let through untouched before the rule applies (default 0). */
  after?: number;
  /** Matching requests the rule applies to, then it is spent (default 1). */
  times?: number;
  action: FaultAction;
}

export interface FaultRequest {
  method: string;
  op: string;
  bucket?: string;
  key?: string;
  partNumber?: number;
}

/** A rule as the control API lists it: `hits` is how often it fired, `remaining` how often it still will. */
export type ListedRule = FaultRule & { id: number; hits: number; remaining: number };

interface LiveRule extends FaultRule {
  id: number;
  seen: number;
  hits: number;
}

/** The server side: a table of rules, consulted once per request. */
export class FaultTable {
  private rules: LiveRule[] = [];
  private nextId = 1;

  add(input: unknown): number[] {
    const list = Array.isArray(input) ? input : [input];
    const ids: number[] = [];
    for (const r of list) {
      const rule = validateRule(r);
      const id = this.nextId++;
      this.rules.push({ ...rule, id, seen: 0, hits: 0 });
      ids.push(id);
    }
    return ids;
  }

  /** Clears every rule, or only those scoped to one bucket (test files share a fixture and run in parallel). */
  clear(bucket?: string): void {
    this.rules = bucket === undefined ? [] : this.rules.filter((r) => r.match?.bucket !== bucket);
  }

  /** Every rule, or only those scoped to one bucket: a test waiting on its rules must not see another file's. */
  list(bucket?: string): ListedRule[] {
    const rules = bucket === undefined ? this.rules : this.rules.filter((r) => r.match?.bucket === bucket);
    return rules.map((r) => ({ ...r, remaining: (r.times ?? 1) - r.hits }));
  }

  /** The action for this request, if a live rule matches it; the first matching rule wins. */
  take(req: FaultRequest): FaultAction | undefined {
    for (const r of this.rules) {
      if (r.hits >= (r.times ?? 1) || !matches(r.match ?? {}, req)) continue;
      r.seen++;
      if (r.seen <= (r.after ?? 0)) continue;
      r.hits++;
      return r.action;
    }
    return undefined;
  }
}

function matches(m: FaultMatch, req: FaultRequest): boolean {
  if (m.method && m.method.toUpperCase() !== req.method.toUpperCase()) return false;
  if (m.op && m.op !== req.op) return false;
  if (m.bucket && m.bucket !== req.bucket) return false;
  if (m.prefix !== undefined && !(req.key ?? '').startsWith(m.prefix)) return false;
  if (m.partNumber !== undefined && m.partNumber !== req.partNumber) return false;
  return true;
}

function validateRule(r: unknown): FaultRule {
  if (!r || typeof r !== 'object') throw new Error(`fault rule: expected an object, got ${JSON.stringify(r)}`);
  const rule = r as FaultRule;
  const a = rule.action as Record<string, unknown> | undefined;
  const ok =
    a &&
    ((typeof a.status === 'number' && a.status >= 100 && a.status < 600) ||
      a.reset === 'before-response' ||
      a.reset === 'mid-body' ||
      a.truncate === true ||
      a.corrupt === true ||
      a.storeCorrupt === true ||
      (typeof a.serveKey === 'string' && a.serveKey !== '') ||
      a.ignoreRange === true ||
      (a.shortAck === true && (a.dropBytes === undefined || (Number.isInteger(a.dropBytes) && (a.dropBytes as number) > 0))) ||
      (typeof a.delayMs === 'number' && a.delayMs >= 0));
  if (!ok) throw new Error(`fault rule: unknown action ${JSON.stringify(rule.action)}`);
  const part = rule.match?.partNumber;
  if (part !== undefined && !(Number.isInteger(part) && part >= 1)) throw new Error(`fault rule: match.partNumber must be a part number from 1, got ${JSON.stringify(part)}`);
  for (const k of ['after', 'times'] as const) {
    const v = rule[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new Error(`fault rule: ${k} must be a whole number, got ${JSON.stringify(v)}`);
  }
  return rule;
}

// The client side, for tests and benchmarks.

const bucketQuery = (bucket: string | undefined): string => (bucket === undefined ? '' : `?bucket=${encodeURIComponent(bucket)}`);

/** Programs rules on a fixture (its base URL, e.g. http://127.0.0.1:PORT); returns their ids. */
export async function addFaults(endpoint: string, rules: FaultRule | FaultRule[]): Promise<number[]> {
  const res = await fetch(`${endpoint.replace(/\/$/, '')}/__faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rules) });
  if (!res.ok) throw new Error(`adding faults at ${endpoint}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { ids: number[] }).ids;
}

/**
 * The fixture's rules with their hit counts: those scoped to `bucket` when given. Pass it: test files run in
 * parallel against one fixture, so an unfiltered listing holds other files' rules too.
 */
export async function listFaults(endpoint: string, bucket?: string): Promise<ListedRule[]> {
  const res = await fetch(`${endpoint.replace(/\/$/, '')}/__faults${bucketQuery(bucket)}`);
  if (!res.ok) throw new Error(`listing faults at ${endpoint}${bucketQuery(bucket)}: HTTP ${res.status}`);
  return (await res.json()) as ListedRule[];
}

/** Clears the fixture's rules: those scoped to `bucket` when given (prefer it: other test files share the fixture). */
export async function clearFaults(endpoint: string, bucket?: string): Promise<void> {
  const res = await fetch(`${endpoint.replace(/\/$/, '')}/__faults${bucketQuery(bucket)}`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`clearing faults at ${endpoint}: HTTP ${res.status}`);
}
