// `ott dashboard` as a real CLI process for the page tests: started with the given arguments, it says
// where it listens on its output; tests read the URL from there.
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts `node <base...> dashboard <args...>`; resolves with the child and its URL, or rejects with an
 * Error carrying the exit `code` and the whole output `out` if it exits first.
 */
export function startDashboard(base: string[], args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...base, 'dashboard', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = /ott dashboard: (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(Object.assign(new Error(`dashboard exited ${code}: ${out}`), { code, out })));
  });
}
