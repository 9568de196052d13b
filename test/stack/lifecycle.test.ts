// `npm run stack` prints working endpoints, and no service outlives it: not after SIGTERM, and not
// after SIGKILL of the stack process either (the next start reaps the orphans).
import { describe, expect, it, onTestFinished } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { reapOrphans } from './reap.js';
import { sleep } from './proc.js';

function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]] = JSON.parse(m[2]);
  return env;
}

async function startByHand(envFile: string): Promise<{ pid: number; env: Record<string, string> }> {
  const child = spawn('npm', ['run', '-s', 'stack', '--', '--only', 'mariadb', '--env-file', envFile], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  for (let i = 0; i < 300 && !existsSync(envFile); i++) await sleep(100);
  expect(existsSync(envFile), `stack did not write ${envFile}; output: ${out}`).toBe(true);
  return { pid: child.pid!, env: parseExports(readFileSync(envFile, 'utf8')) };
}

async function mysqlAnswers(env: Record<string, string>): Promise<boolean> {
  try {
    const c = await createConnection({
      host: env.OTT_MYSQL_HOST,
      port: Number(env.OTT_MYSQL_PORT),
      user: env.OTT_MYSQL_USER,
      password: env.OTT_MYSQL_PASSWORD,
      connectTimeout: 1000,
    });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function eventually(fn: () => Promise<boolean>, want: boolean): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await fn()) === want) return want;
    await sleep(100);
  }
  return !want;
}

describe('npm run stack', () => {
  it('prints endpoints that work and stops every service on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ott-lc-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const { pid, env } = await startByHand(join(dir, 'env'));
    expect(env.METADATA_SERVER_DETECTION).toBe('none');
    expect(await mysqlAnswers(env)).toBe(true);
    process.kill(-pid, 'SIGTERM');
    expect(await eventually(() => mysqlAnswers(env), false)).toBe(false);
  });

  it('leaves nothing behind after SIGKILL once the next stack starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ott-lc-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const { pid, env } = await startByHand(join(dir, 'env'));
    // Kill only the stack's node process (npm and node share its group); MariaDB has its own group.
    process.kill(-pid, 'SIGKILL');
    await sleep(300);
    expect(await mysqlAnswers(env)).toBe(true);
    expect(reapOrphans()).toBeGreaterThan(0);
    expect(await eventually(() => mysqlAnswers(env), false)).toBe(false);
  });
});
