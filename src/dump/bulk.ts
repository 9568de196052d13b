// Bulk loading into MySQL, the one loader of the project: a batch is sent through LOAD DATA LOCAL INFILE,
// as a bare load would, and servers that refuse local infile (MySQL 8's default) get multi-row INSERTs of
// the same batch instead. Two targets use it: the dump's new subfolder keys (IGNORE keeps every existing
// row as it is, whatever the caller believed was new; the SHA-256 is computed here, the client hashing
// while the server inserts) and the S3 Inventory index (src/dump/inventory.ts).
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

/**
 * Lines of tab-separated fields, each with MySQL's backslash escapes, LF-terminated (the dump's lines are
 * `key TAB sha-hex`, the format src/state/dump.ts loadNewDirs reads), appended into one reusable Buffer.
 */
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
    return this.addRow([key, shaHex]);
  }

  /** One line of fields; false when the batch is full (by lines or bytes): send it, then add again. */
  addRow(fields: readonly string[]): boolean {
    const escaped = fields.map(escapeField);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; one separator or terminator per field.
    let need = this.bytes;
    for (const f of escaped) need += f.length * 3 + 1;
    if (this.count >= this.maxKeys || (need > this.maxBytes && this.count > 0)) return false;
    if (need > this.buf.length) this.buf = Buffer.concat([this.text], Math.max(need, Math.min(this.maxBytes, this.buf.length * 2)));
    for (const [i, f] of escaped.entries()) {
      this.bytes += this.buf.write(f, this.bytes, 'utf8');
      this.buf[this.bytes++] = i === escaped.length - 1 ? 0x0a : 0x09;
    }
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

  /** The batch's lines as their unescaped fields, for INSERT. */
  fieldRows(): string[][] {
    const text = this.text.toString('utf8');
    const rows: string[][] = [];
    for (const line of text.split('\n')) {
      if (line) rows.push(line.split('\t').map(unescapeField));
    }
    return rows;
  }

  /** The dump's batch as [key, sha] rows, for INSERT. */
  rows(): [string, Buffer][] {
    return this.fieldRows().map(([key, sha]) => [key, Buffer.from(sha, 'hex')]);
  }
}

/** Multi-row INSERTs stay under the 16 MiB max_allowed_packet even with 1024-byte keys. */
const INSERT_ROWS = 5000;

export interface BulkLoader {
  /** Loads the batch; returns the rows the target reports (the dump: rows inserted). The batch may be reused after. */
  load(batch: Batch): Promise<number>;
  readonly method: string;
}

/** Where a loader's batches go: the same lines two ways. */
export interface BulkTarget {
  /** The batch's text through LOAD DATA LOCAL INFILE; throws as the server does when it refuses local infile. */
  infile(text: Buffer): Promise<number>;
  /** Up to INSERT_ROWS lines (unescaped fields) through a multi-row INSERT, for servers that refuse it. */
  insert(rows: string[][]): Promise<number>;
}

function isInfileRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  // MySQL 8: 3948 / 1148; MariaDB: 4166.
  if (e.code === 'ER_LOAD_INFILE_CAPABILITY_DISABLED' || e.code === 'ER_NOT_ALLOWED_COMMAND' || [1148, 3948, 4166].includes(e.errno ?? 0)) return true;
  return /local (data|infile)/i.test(e.message ?? '') && /disabled|not allowed/i.test(e.message ?? '');
}

/** LOAD DATA LOCAL INFILE into `target` until the server refuses it once, multi-row INSERTs from then on. */
export function bulkLoaderFor(target: BulkTarget): BulkLoader {
  let infile = true;
  let used = false;
  const viaInsert = async (batch: Batch): Promise<number> => {
    const rows = batch.fieldRows();
    let n = 0;
    for (let i = 0; i < rows.length; i += INSERT_ROWS) n += await target.insert(rows.slice(i, i + INSERT_ROWS));
    return n;
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
          return await target.infile(batch.text);
        } catch (err) {
          if (!isInfileRefused(err)) throw err;
          infile = false; // refused before any row was read: the same batch goes through INSERTs
        }
      }
      return viaInsert(batch);
    },
  };
}

/** The dump's new subfolder keys. conn is the run's own connection (it also holds the dump lock); seenAt becomes first_seen of new rows. */
export function bulkLoader(conn: PoolConnection, table: string, seenAt: Date): BulkLoader {
  return bulkLoaderFor({
    infile: (text) => loadNewDirs(conn, table, text, seenAt),
    insert: (rows) => insertNewDirs(conn, table, rows.map(([key, sha]): [string, Buffer] => [key, Buffer.from(sha, 'hex')]), seenAt),
  });
}
