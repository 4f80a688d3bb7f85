/**
 * Backoff as pure functions: a job's wait between attempts (`backoff` is seconds, one number for
 * every retry or a list for retry 1, 2, ..., the last value repeats), and the capped exponential
 * wait of everything else that tries again.
 */
export type Backoff = number | readonly number[];

/** Milliseconds to wait after failed attempt number `attempt` (1-based). */
export function backoffDelayMs(backoff: Backoff, attempt: number): number {
  const seconds = Array.isArray(backoff)
    ? (backoff[Math.min(attempt, backoff.length) - 1] ?? 0)
    : (backoff as number);
  return Math.max(0, Math.round(seconds * 1000));
}

/**
 * The capped exponential wait before try number `n` (1-based) of an operation that keeps
 * failing: `firstMs`, twice that, ... never more than `capMs`. Claims through an outage, driver
 * calls through an outage and crashed worker processes all wait this way.
 */
export function exponentialMs(n: number, firstMs: number, capMs: number): number {
  return Math.min(firstMs * 2 ** Math.max(0, n - 1), capMs);
}
