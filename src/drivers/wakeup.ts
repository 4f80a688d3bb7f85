/**
 * Wakes idle workers waiting on a driver: `wait()` resolves on `wake()`, after `ms`, or on abort
 * (with true only after `ms`); a wake that comes while nobody waits is kept for the next wait,
 * so no wake-up is ever lost.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();
  private pending = false;

  wake(): void {
    if (this.waiters.size === 0) this.pending = true;
    for (const waiter of [...this.waiters]) waiter();
  }

  wait(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const done = (timedOut?: unknown) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        this.pending = false;
        resolve(timedOut === true);
      };
      const timer = setTimeout(done, ms, true);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Releases every waiter (the driver is closing). */
  release(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
