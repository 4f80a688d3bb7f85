/**
 * Wakes idle workers waiting on a driver: `wait()` resolves on `wake()`, after `ms`, or on abort;
 * a wake that comes while nobody waits is kept for the next wait, so no wake-up is ever lost.
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();
  private pending = false;

  wake(): void {
    if (this.waiters.size === 0) this.pending = true;
    for (const waiter of [...this.waiters]) waiter();
  }

  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Releases every waiter (the driver is closing). */
  release(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
