// Bad-input catalogue (README.md in this folder): configuration errors and dead services at start, each
// through the real CLI as a VM's systemd unit runs it. A config error exits 78 (the units never restart
// on it) with one line naming the field; an unreachable service exits 1 within a bounded time with one
// line naming the service; a full disk under the logs loses log lines, not the work or the exit code.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { freshDatabase } from '../helpers/db.js';
import { uniqueName } from '../helpers/names.js';
import type { Secrets } from '../../src/common/secrets.js';
import { closeContext, createContext } from '../../src/common/context.js';
import { ConfigError } from '../../src/common/config/validate.js';
import { createDb } from '../../src/common/db.js';
import { migrate } from '../../src/common/migrate.js';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ott-badstart-'));
/** Every CLI run here must end well within this: a hang fails the case, it does not stall the suite. */
const RUN_TIMEOUT_MS = 45_000;
let mysql: Secrets['mysql_config'];
let deadPort: number;
let goodCreds: string;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  ms: number;
}

function ott(args: string[], env: Record<string, string> = {}, stdio?: 'full'): Promise<Result> {
  const started = Date.now();
  const full = stdio === 'full' ? openSync('/dev/full', 'w') : undefined;
  const child = spawn(process.execPath, ['bin/ott.mjs', ...args], {
    cwd: root,
    env: { ...process.env, OTT_STARTUP_TIMEOUT_SECONDS: '3', ...env },
    stdio: full === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', full, full],
    timeout: RUN_TIMEOUT_MS,
  });
  if (full !== undefined) closeSync(full);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, ms: Date.now() - started })));
}

function file(name: string, content: string | object): string {
  const p = join(dir, `${uniqueName(name)}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const base = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ mysql_table: 'transfer_state', credentials_file: goodCreds, ...extra });

beforeAll(async () => {
  mysql = await freshDatabase('badstart');
  goodCreds = file('creds', { mysql_config: mysql });
  const db = createDb(mysql);
  await migrate(db, 'transfer_state'); // the workers need the schema (S5)
  await db.end();
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  deadPort = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r)); // a port nothing listens on
});

interface Case {
  id: string;
  args: () => string[];
  env?: () => Record<string, string>;
  code: number;
  line: RegExp;
  /** Run through the CLI; the others are loaded in this process (the CLI's exit code for a ConfigError, 78, is proved by the CLI cases). */
  cli?: true;
}

// C: configuration errors of every kind -> exit 78, one line naming what is wrong.
const configCases: Case[] = [
  { id: 'C1 config file missing', cli: true, args: () => ['--config', join(dir, 'nope.json'), 'migrate'], code: 78, line: /cannot read config file .*nope\.json: ENOENT/ },
  { id: 'C2 config file not JSON', args: () => ['--config', file('c', '{"mysql_table": '), 'migrate'], code: 78, line: /is not valid JSON/ },
  { id: 'C3 config not an object', args: () => ['--config', file('c', '["a"]'), 'migrate'], code: 78, line: /is not a JSON object \(got \["a"\]\)/ },
  { id: 'C4 unknown field (typo)', cli: true, args: () => ['--config', file('c', base({ s3_buckt: 'b' })), 'migrate'], code: 78, line: /s3_buckt: unknown field/ },
  { id: 'C5 SQL text (reference pull_query)', args: () => ['--config', file('c', base({ pull_query: 'SELECT 1' })), 'migrate'], code: 78, line: /pull_query: SQL text in configuration is refused/ },
  { id: 'C6 wrong type', args: () => ['--config', file('c', base({ num_messages: 'ten' })), 'migrate'], code: 78, line: /num_messages: got "ten"/ },
  { id: 'C7 out of range', args: () => ['--config', file('c', base({ transfer_concurrency: 0 })), 'migrate'], code: 78, line: /transfer_concurrency: got 0/ },
  { id: 'C8 prefix without trailing slash', args: () => ['--config', file('c', base({ s3_root_prefix: 'data' })), 'migrate'], code: 78, line: /s3_root_prefix: got "data", expected a folder prefix ending in "\/"/ },
  { id: 'C9 contradictory dates', args: () => ['--config', file('c', base({ last_modified_after: '2025-01-01T00:00:00Z', last_modified_before: '2024-01-01T00:00:00Z' })), 'migrate'], code: 78, line: /last_modified_after: .*expected a date before last_modified_before/ },
  { id: 'C10 signing key pair without a key', args: () => ['--config', file('c', base({ url_signer_key_pair_id: 'K1' })), 'migrate'], code: 78, line: /url_signer_private_key_secret_id: .*expected with url_signer_key_pair_id/ },
  { id: 'C11 bad table name', args: () => ['--config', file('c', base({ mysql_table: 'x; DROP TABLE y' })), 'migrate'], code: 78, line: /mysql_table: got "x; DROP TABLE y", expected a plain SQL identifier/ },
  { id: 'C12 --config and --config-key both', args: () => ['--config', file('c', base()), '--config-key', 'K/N', 'migrate'], code: 78, line: /give either --config FILE or --config-key KIND\/NAME, not both/ },
  { id: 'C13 malformed --config-key', args: () => ['--gcp-project', 'ott-local', '--config-key', 'no-slash', 'migrate'], code: 78, line: /--config-key: got "no-slash", expected KIND\/NAME/ },
  { id: 'C14 config entity not in Datastore', cli: true, args: () => ['--gcp-project', 'ott-local', '--config-key', `${uniqueName('Kind')}/missing`, 'migrate'], code: 78, line: /config entity .*\/missing not found in Datastore/ },
  { id: 'C15 credentials file missing', args: () => ['--config', file('c', base({ credentials_file: join(dir, 'no-creds.json') })), 'migrate'], code: 78, line: /cannot read credentials_file .*no-creds\.json: ENOENT/ },
  { id: 'C16 credentials not JSON', cli: true, args: () => ['--config', file('c', base({ credentials_file: file('cr', '{"mysql_config": {"password": "Hunter2-secret"') })), 'migrate'], code: 78, line: /credentials from .* are not valid JSON/ },
  { id: 'C17 credentials without mysql_config.host', args: () => ['--config', file('c', base({ credentials_file: file('cr', { mysql_config: { user: 'u', password: 'p', database: 'd' } }) })), 'migrate'], code: 78, line: /credentials from .* are invalid: mysql_config\.host/ },
  { id: 'C18 no credentials at all', args: () => ['--config', file('c', { mysql_table: 't' }), 'migrate'], code: 78, line: /config has neither credentials_secret_id nor credentials_file/ },
  { id: 'C19 a mode missing its fields', cli: true, args: () => ['--config', file('c', base()), 'cdnTransfer', '--processes', '1', '--idle-exit-seconds', '1'], code: 78, line: /config for cdnTransfer is missing/ },
];

// S: services unreachable at start -> exit 1 within a bounded time, one line naming the service.
const startCases: Case[] = [
  { id: 'S1 MySQL unreachable', cli: true, args: () => ['--config', file('c', base({ credentials_file: file('cr', { mysql_config: { ...mysql, port: deadPort } }) })), 'migrate'], code: 1, line: /migrate failed: connect ECONNREFUSED 127\.0\.0\.1:\d+/ },
  { id: 'S2 Datastore unreachable', cli: true, args: () => ['--gcp-project', 'ott-local', '--config-key', 'OttConfig/any', 'migrate'], env: () => ({ DATASTORE_EMULATOR_HOST: `127.0.0.1:${deadPort}` }), code: 1, line: /cannot read config entity OttConfig\/any from Datastore: Total timeout .* exceeded 3000 milliseconds .*UNAVAILABLE/ },
  { id: 'S3 Secret Manager unreachable', cli: true, args: () => ['--gcp-project', 'ott-local', '--config', file('c', { mysql_table: 't', credentials_secret_id: 'creds' }), 'migrate'], env: () => ({ OTT_SECRET_MANAGER_ENDPOINT: `127.0.0.1:${deadPort}` }), code: 1, line: /cannot read secret projects\/ott-local\/secrets\/creds\/versions\/latest: Total timeout .* exceeded 3000 milliseconds .*UNAVAILABLE/ },
  { id: 'S4 Secret Manager: no such secret', cli: true, args: () => ['--gcp-project', 'ott-local', '--config', file('c', { mysql_table: 't', credentials_secret_id: uniqueName('absent') }), 'migrate'], code: 1, line: /cannot read secret projects\/ott-local\/secrets\/absent-\S+: .*not found/i },
];

describe('bad-input catalogue: configuration errors and dead services at start (CLI)', () => {
  it('config errors found while loading are ConfigErrors (exit 78) naming the field, the value and what was expected', async () => {
    for (const c of configCases.filter((k) => !k.cli)) {
      const a = c.args();
      const at = (flag: string): string | undefined => (a.includes(flag) ? a[a.indexOf(flag) + 1] : undefined);
      const ctl = new AbortController();
      const err = await createContext({ mode: 'migrate', file: at('--config'), configKey: at('--config-key'), gcpProject: at('--gcp-project'), signal: ctl.signal, writeLog: () => undefined }).then(
        async (ctx) => {
          await closeContext(ctx);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err, c.id).toBeInstanceOf(ConfigError);
      expect((err as Error).message, c.id).toMatch(c.line);
      expect((err as Error).message, c.id).not.toContain('Hunter2-secret');
    }
  });

  it('through the CLI, each ends at once with its exit code and one line saying what is wrong; none hangs, none prints a stack trace or a secret', async () => {
    const limit = pLimit(3);
    const cases = [...configCases, ...startCases].filter((c) => c.cli);
    const results = await Promise.all(cases.map((c) => limit(() => ott(c.args(), c.env?.() ?? {}))));
    for (const [i, c] of cases.entries()) {
      const r = results[i];
      expect([c.id, r.code, r.signal], r.out).toEqual([c.id, c.code, null]);
      expect(r.out, c.id).toMatch(c.line);
      expect(r.out, c.id).not.toMatch(/\n\s+at .*\.(ts|js):\d+/); // no stack trace
      expect(r.out, c.id).not.toContain('Hunter2-secret');
      expect(r.out, c.id).not.toContain('Previous errors'); // google-gax's wall of repeated errors
    }
  });

  it('S5 Pub/Sub unreachable: the worker says the stream broke (WARNING), acks nothing, and exits on idle', async () => {
    const cfg = file('c', base({ pubsub_subscription_id: 'sub', s3_bucket: 'bucket', gcs_bucket: 'bucket', cloudfront_url_host_pre: 'http://127.0.0.1:1/b/' }));
    const r = await ott(['--config', cfg, 'cdnTransfer', '--processes', '1', '--idle-exit-seconds', '3'], { PUBSUB_EMULATOR_HOST: `127.0.0.1:${deadPort}` });
    expect(r.code, r.out).toBe(0);
    const warning = r.out.split('\n').find((l) => l.includes('Pub/Sub stream broke'));
    expect(JSON.parse(warning!)).toMatchObject({ severity: 'WARNING', subscription: 'sub', reason: expect.stringContaining('ECONNREFUSED') });
    expect(r.out).toMatch(/"summary":\{"messages":0,"acked":0,"nacked":0/);
  });

  it('F1 a full disk under stdout and stderr: the work is done and the exit code kept (0 and 78), no crash', async () => {
    const db = await freshDatabase('badfull');
    const ok = await ott(['--config', file('c', base({ credentials_file: file('cr', { mysql_config: db }) })), 'migrate'], {}, 'full');
    expect([ok.code, ok.signal]).toEqual([0, null]);
    const c = await createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database });
    const [tables] = await c.query<RowDataPacket[]>("SHOW TABLES LIKE 'transfer_state'");
    await c.end();
    expect(tables).toHaveLength(1);
    const bad = await ott(['--config', file('c', base({ s3_buckt: 'b' })), 'migrate'], {}, 'full');
    expect([bad.code, bad.signal]).toEqual([78, null]);
  });
});
