// Bulk loading of subfolder keys. The fast path streams a batch through LOAD DATA LOCAL INFILE, as a
// bare load would; servers that refuse local infile (MySQL 8's default) get multi-row INSERTs instead.
import { Readable } from 'node:stream';
import type { PoolConnection, ResultSetHeader } from 'mysql2/promise';
import type { Db } from '../common/db.js';
import { tableName } from '../common/db.js';
import { insertNew, stampSeen } from './sql.js';

/** MySQL's LOAD DATA escaping for one field: backslash escapes, so any key (tabs, newlines) survives. */
function escapeField(key: string): string {
  return key.replace(/[\\\t\n\r\0]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' })[c]!);
}

function linesOf(keys: string[]): Readable {
  return Readable.from([Buffer.from(keys.map(escapeField).join('\n') + '\n', 'utf8')], { objectMode: false });
}

const FORMAT = "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (dir_key) SET dir_key_sha = UNHEX(SHA2(dir_key, 256))";

export interface BulkLoader {
  /** Inserts the keys not yet in the table and stamps last_seen on the others; returns rows inserted. */
  load(keys: string[]): Promise<number>;
  close(): Promise<void>;
  readonly method: string;
}

function isInfileRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  // MySQL 8: 3948 / 1148; MariaDB: 4166.
  if (e.code === 'ER_LOAD_INFILE_CAPABILITY_DISABLED' || e.code === 'ER_NOT_ALLOWED_COMMAND' || [1148, 3948, 4166].includes(e.errno ?? 0)) return true;
  return /local (data|infile)/i.test(e.message ?? '') && /disabled|not allowed/i.test(e.message ?? '');
}

export async function openBulkLoader(db: Db, table: string, seenAt: Date): Promise<BulkLoader> {
  const t = tableName(table);
  // One connection: the staging table is TEMPORARY (per connection), and the @seen variable lives there.
  const conn: PoolConnection = await db.getConnection();
  let infile = true;
  await conn.query('SET @seen = ?', [seenAt]);
  await conn.query('CREATE TEMPORARY TABLE IF NOT EXISTS dump_staging (dir_key VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, dir_key_sha BINARY(32) NOT NULL, PRIMARY KEY (dir_key_sha)) ENGINE=InnoDB');
  const viaInfile = async (keys: string[]): Promise<number> => {
    // Straight into the state table, as a bare load would: IGNORE keeps every existing row as it is.
    const [r] = await conn.query<ResultSetHeader>({
      sql: `LOAD DATA LOCAL INFILE 'batch' IGNORE INTO TABLE ${t} CHARACTER SET utf8mb4 ${FORMAT}, first_seen = @seen, last_seen = @seen`,
      infileStreamFactory: () => linesOf(keys),
    });
    const inserted = r.affectedRows;
    if (inserted < keys.length) {
      // Some were known: stamp them through a staging table (one UPDATE ... JOIN, not a key list).
      await conn.query('DELETE FROM dump_staging');
      await conn.query({ sql: `LOAD DATA LOCAL INFILE 'batch' IGNORE INTO TABLE dump_staging CHARACTER SET utf8mb4 ${FORMAT}`, infileStreamFactory: () => linesOf(keys) });
      await conn.query(`UPDATE ${t} s JOIN dump_staging g ON s.dir_key_sha = g.dir_key_sha SET s.last_seen = @seen WHERE s.last_seen < @seen`);
    }
    return inserted;
  };
  return {
    get method() {
      return infile ? 'LOAD DATA LOCAL INFILE' : 'multi-row INSERT';
    },
    async load(keys) {
      if (infile) {
        try {
          return await viaInfile(keys);
        } catch (err) {
          if (!isInfileRefused(err)) throw err;
          infile = false;
        }
      }
      const inserted = await insertNew(db, table, keys, seenAt);
      if (inserted < keys.length) await stampSeen(db, table, keys, seenAt);
      return inserted;
    },
    async close() {
      await conn.query('DROP TEMPORARY TABLE IF EXISTS dump_staging').catch(() => undefined);
      conn.release();
    },
  };
}
