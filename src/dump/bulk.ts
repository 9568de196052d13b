// Bulk insertion of new subfolder keys. The fast path sends a batch through LOAD DATA LOCAL INFILE IGNORE,
// as a bare load would, with the SHA-256 computed here (the client hashes while the server inserts);
// servers that refuse local infile (MySQL 8's default) get multi-row INSERT IGNOREs of the same batch
// instead. IGNORE keeps every existing row as it is, whatever the caller believed was new.
//
// A batch is the LOAD DATA text itself, written into a Buffer that is reused from batch to batch: a
// million keys never become a million retained strings.
import type { PoolConnection } from 'mysql2/promise';
import { insertNewDirs, loadNewDirs } from '../state/dump.js';

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const UNESCAPES: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r', '0': '\0' };
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;

/** MySQL's LOAD DATA escaping for one field: backslash escapes, so any key (tabs, newlines) survives. */
export function escapeField(key: string): string {
  return NEEDS_ESCAPE.test(key) ? key.replace(/[\\\t\n\r\0]/g, (c) => ESCAPES[c]) : key;
}

export function unescapeField(field: string): string {
  return field.includes('\\') ? field.replace(/\\(.)/gs, (_, c: string) => UNESCAPES[c] ?? c) : field;
}

/** Lines `escaped key TAB sha-hex LF` (the format src/state/dump.ts loadNewDirs reads), appended into one reusable Buffer. */
export class Batch {
  private buf = Buffer.allocUnsafe(1 << 16); // grows to maxBytes as needed: a delta's few new keys stay small
  bytes = 0;
  count = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxKeys: number,
  ) {}

  /** False when the batch is full (by keys or bytes): send it, then add again. */
  add(key: string, shaHex: string): boolean {
    const field = escapeField(key);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; 64 hex digits and two separators.
    const need = this.bytes + field.length * 3 + 66;
    if (this.count >= this.maxKeys || (need > this.maxBytes && this.count > 0)) return false;
    if (need > this.buf.length) this.buf = Buffer.concat([this.text], Math.max(need, Math.min(this.maxBytes, this.buf.length * 2)));
    this.bytes += this.buf.write(field, this.bytes, 'utf8');
    this.buf[this.bytes++] = 0x09;
    this.bytes += this.buf.write(shaHex, this.bytes, 'latin1');
    this.buf[this.bytes++] = 0x0a;
    this.count++;
    return true;
  }

  get text(): Buffer {
    return this.buf.subarray(0, this.bytes);
  }

  clear(): void {
    this.bytes = 0;
    this.count = 0;
  }

  /** The batch as [key, sha] rows, for INSERT. */
  rows(): [string, Buffer][] {
    const text = this.text.toString('utf8');
    const rows: [string, Buffer][] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      const tab = line.lastIndexOf('\t');
      rows.push([unescapeField(line.slice(0, tab)), Buffer.from(line.slice(tab + 1), 'hex')]);
    }
    return rows;
  }
}

/** Multi-row INSERTs stay under the 16 MiB max_allowed_packet even with 1024-byte keys. */
const INSERT_ROWS = 5000;

export interface BulkLoader {
  /** Inserts the batch's keys that are not in the table yet; returns rows inserted. The batch may be reused after. */
  load(batch: Batch): Promise<number>;
  readonly method: string;
}

function isInfileRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  // MySQL 8: 3948 / 1148; MariaDB: 4166.
  if (e.code === 'ER_LOAD_INFILE_CAPABILITY_DISABLED' || e.code === 'ER_NOT_ALLOWED_COMMAND' || [1148, 3948, 4166].includes(e.errno ?? 0)) return true;
  return /local (data|infile)/i.test(e.message ?? '') && /disabled|not allowed/i.test(e.message ?? '');
}

/** conn is the run's own connection (it also holds the dump lock); seenAt becomes first_seen of new rows. */
export function bulkLoader(conn: PoolConnection, table: string, seenAt: Date): BulkLoader {
  let infile = true;
  let used = false;
  const viaInsert = async (batch: Batch): Promise<number> => {
    const rows = batch.rows();
    let inserted = 0;
    for (let i = 0; i < rows.length; i += INSERT_ROWS) inserted += await insertNewDirs(conn, table, rows.slice(i, i + INSERT_ROWS), seenAt);
    return inserted;
  };
  return {
    get method() {
      if (!used) return 'none (no new keys)';
      return infile ? 'LOAD DATA LOCAL INFILE' : 'multi-row INSERT';
    },
    async load(batch) {
      if (!batch.count) return 0;
      used = true;
      if (infile) {
        try {
          return await loadNewDirs(conn, table, batch.text, seenAt);
        } catch (err) {
          if (!isInfileRefused(err)) throw err;
          infile = false; // refused before any row was read: the same batch goes through INSERTs
        }
      }
      return viaInsert(batch);
    },
  };
}
