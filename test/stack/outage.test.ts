// A MariaDB outage in the middle of a run, as the chaos run needs one: another process asks the stack's
// control endpoint (`npm run stack:ctl -- mariadb down|up`) to stop MariaDB and start it again on the same
// port and data dir. A mysql2 pool sees errors while it is down, works again after, and nothing committed
// is lost. A private stack: the shared one's MariaDB serves every other test file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { createConnection, createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { startStack, type Stack } from './index.js';

let stack: Stack;
let pool: Pool;
const root = join(import.meta.dirname, '../..');

/** `npm run -s stack:ctl -- ...` as a separate process, as a chaos run would call it. */
function ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'stack:ctl', '--', ...args], { cwd: root, env: { ...process.env, OTT_STACK_CONTROL: stack.env.OTT_STACK_CONTROL } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const connect = () =>
  createConnection({ host: stack.env.OTT_MYSQL_HOST, port: Number(stack.env.OTT_MYSQL_PORT), user: stack.env.OTT_MYSQL_USER, password: stack.env.OTT_MYSQL_PASSWORD, connectTimeout: 2000 });

beforeAll(async () => {
  stack = await startStack({ only: ['mariadb'] });
  pool = createPool({ host: stack.env.OTT_MYSQL_HOST, port: Number(stack.env.OTT_MYSQL_PORT), user: stack.env.OTT_MYSQL_USER, password: stack.env.OTT_MYSQL_PASSWORD, connectionLimit: 4, connectTimeout: 2000 });
});

afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await stack?.stop();
});

describe('stack control: MariaDB down and up again', () => {
  it('a pool fails while MariaDB is down and works after it is back, on the same port, with every committed row', async () => {
    await pool.query('CREATE DATABASE outage');
    await pool.query('CREATE TABLE outage.t (id INT PRIMARY KEY, v VARCHAR(40))');
    const rows = Array.from({ length: 500 }, (_, i) => [i, `value ${i}`]);
    await pool.query('INSERT INTO outage.t (id, v) VALUES ?', [rows]);
    const port = stack.env.OTT_MYSQL_PORT;

    const down = await ctl('mariadb', 'down');
    expect([down.code, down.stdout.trim()], down.stderr).toEqual([0, 'mariadb is down']);
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: expect.stringMatching(/^(ECONNREFUSED|PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE)$/) });
    await expect(connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const up = await ctl('mariadb', 'up');
    expect([up.code, up.stdout.trim()], up.stderr).toEqual([0, 'mariadb is up']);
    expect(stack.env.OTT_MYSQL_PORT).toBe(port);
    // A pool may hand out one connection that died with the old server before it opens a new one.
    let answered: RowDataPacket[] | undefined;
    for (let attempt = 0; attempt < 5 && !answered; attempt++) {
      answered = await pool
        .query<RowDataPacket[]>('SELECT COUNT(*) AS n, SUM(id) AS s FROM outage.t')
        .then(([r]) => r)
        .catch(() => undefined);
    }
    expect(answered?.[0]).toMatchObject({ n: 500, s: String((499 * 500) / 2) });
    await pool.query('INSERT INTO outage.t VALUES (500, ?)', ['after the restart']);
    const c = await connect();
    const [[last]] = await c.query<RowDataPacket[]>('SELECT v FROM outage.t WHERE id = 500');
    await c.end();
    expect(last.v).toBe('after the restart');
  });

  it('lists its services and names what it cannot do', async () => {
    const res = await fetch(`${stack.env.OTT_STACK_CONTROL}/services`);
    expect(await res.json()).toEqual([{ name: 'mariadb', restartable: true }]);
    const missing = await ctl('gcs', 'down');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no service "gcs" in this stack; it has mariadb');
    const usage = await ctl('mariadb', 'sideways');
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('usage:')]);
  });
});
