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

export interface UntilOptions {
  /** Gives up after this long (10 s unless told). */
  timeoutMs?: number;
  /** Looks again this often (5 ms unless told). */
  everyMs?: number;
  /** What is waited for, for the message when it does not happen: "the worker to start the job". */
  what?: string;
}

/**
 * Polls `check` until it holds; throws after the timeout, naming what it waited for. A test
 * waits on this (or moves a TestClock) instead of sleeping a fixed time, unless wall time is
 * what it checks. `until(check, 15_000)` and `until(check, 15_000, 200)` still work.
 */
export async function until(check: () => boolean | Promise<boolean>, options: number | UntilOptions = {}, everyMs?: number): Promise<void> {
  const o: UntilOptions = typeof options === 'number' ? { timeoutMs: options, everyMs } : options;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${o.what ?? 'a condition'}`);
    await new Promise((r) => setTimeout(r, o.everyMs ?? 5));
  }
}
