// A shared bound on work in flight (p-limit style): every message's objects queue here, so the process
// never copies more than `concurrency` objects at once however many messages it holds.
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly queued: number;
}

export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`Expected \`concurrency\` to be an integer from 1 and up, got \`${concurrency}\``);
  let active = 0;
  const queue: Array<() => void> = [];
  return {
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active >= concurrency) await new Promise<void>((resolve) => queue.push(resolve));
      else active++;
      // A woken waiter inherits the slot of the one that finished (active is not decremented then).
      try {
        return await fn();
      } finally {
        if (queue.length) queue.shift()!();
        else active--;
      }
    },
  };
}
