/**
 * The clock every time decision goes through, so tests can move time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` after `ms` unless the returned cancel is called first (no promise, no signal: one per attempt). */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * The sync driver's clock: its waits pass at once, moving its time ahead instead (a retry's
 * backoff, a limit's hold-back), so a job run inline never makes its dispatcher wait, and a
 * retry is due as soon as its wait has been "slept". Timers set with `after` (a job's timeout)
 * are real ones.
 */
export function skippingClock(): Clock {
  let ahead = 0;
  return {
    now: () => Date.now() + ahead,
    sleep: (ms, signal) => {
      if (!signal?.aborted && ms > 0) ahead += ms;
      return new Promise<void>((resolve) => setImmediate(resolve));
    },
    after: systemClock.after,
  };
}
