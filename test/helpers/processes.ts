// Processes a test started must not outlive it.

/** Which of `pids` still exist (a short wait covers the moment between a child's exit and its reaping); any left are killed. */
export async function alive(pids: number[]): Promise<number[]> {
  const exists = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const end = Date.now() + 2000;
  while (pids.some(exists) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  const left = pids.filter(exists);
  for (const pid of left) process.kill(pid, 'SIGKILL'); // leave nothing behind for the next test
  return left;
}
