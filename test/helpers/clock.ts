/**
 * A clock tests can move: `now()` is real time plus an offset; `advance(ms)` moves it forward
 * and wakes every sleeper whose time has come, so no test waits out a backoff or a schedule.
 */
import type { Clock } from '../../src/infra/clock.ts';

export class TestClock implements Clock {
  private offset = 0;
  private sleepers = new Set<{ until: number; wake: () => void }>();

  now(): number {
    return Date.now() + this.offset;
  }

  advance(ms: number): void {
    this.offset += ms;
    for (const sleeper of [...this.sleepers]) if (sleeper.until <= this.now()) sleeper.wake();
  }

  /** Sleepers currently waiting (a worker idles or waits for a retry). */
  get waiting(): number {
    return this.sleepers.size;
  }

  after(ms: number, fn: () => void): () => void {
    const over = new AbortController();
    void this.sleep(ms, over.signal).then(() => {
      if (!over.signal.aborted) fn();
    });
    return () => over.abort();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const sleeper = {
        until: this.now() + ms,
        wake: () => {
          clearTimeout(timer);
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      const timer = setTimeout(sleeper.wake, Math.min(ms, 2 ** 31 - 1));
      this.sleepers.add(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }
}

/** Polls `check` every `everyMs` until it holds; throws after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 5): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
