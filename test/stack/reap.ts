// The one exit path an in-process hook cannot cover is our own SIGKILL: the services live on in their
// process groups. Each stack records its owner PID and service PIDs in <tmp>/ott-stack-*/owner.json; a
// new stack kills the groups of any stack whose owner is gone, and removes its temp dir.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    // A zombie still answers kill(0) when nothing reaps it (PID 1 of a container often doesn't).
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Returns how many orphaned service process groups were killed. */
export function reapOrphans(): number {
  let killed = 0;
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith('ott-stack-')) continue;
    const dir = join(tmpdir(), name);
    let rec: { owner: number; pids: number[] };
    try {
      rec = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8'));
    } catch {
      continue; // starting right now, or not ours
    }
    if (alive(rec.owner)) continue;
    for (const pid of rec.pids) {
      try {
        process.kill(-pid, 'SIGKILL');
        killed++;
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return killed;
}
