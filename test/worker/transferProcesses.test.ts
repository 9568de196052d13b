// `cdnTransfer --processes N` with a config the children refuse (exit 78, EX_CONFIG): restarting them
// cannot help, so the parent stops the others and exits 78 itself instead of restarting them forever.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from '../helpers/processes.js';


describe('cdnTransfer --processes 2 with a bad config', () => {
  it('exits 78 (EX_CONFIG) once a child exits 78, restarts nothing, and leaves no child', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ott-procs-'));
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ rsync_engine: 'no-such-engine' })); // fails validation in each child
    const cli = spawn(process.execPath, ['bin/ott.mjs', '--config', cfg, 'cdnTransfer', '--processes', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (b) => (out += b));
    cli.stderr.on('data', (b) => (out += b));
    const exited = new Promise<number | string>((resolve) => cli.on('exit', (code, signal) => resolve(code ?? `signal ${signal}`)));
    // Bounds a hang, not speed: before the fix the parent restarted the children every 5 s forever.
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 40_000))]);
    if (code === 'still running') cli.kill('SIGKILL');
    const started = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message?: string; pid?: number });
    const pids = started.filter((l) => l.message === 'cdnTransfer: worker process started').map((l) => l.pid!);
    expect(code, out.slice(-4000)).toBe(78);
    expect(pids).toHaveLength(2); // the two first children, no restart
    expect(await alive(pids)).toEqual([]);
    expect(out).toContain('rsync_engine');
  }, 60_000);
});
