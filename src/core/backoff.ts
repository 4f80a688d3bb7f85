/**
 * Backoff between attempts, as a pure function: `backoff` is seconds, one number for every
 * retry or a list for retry 1, 2, ... (the last value repeats).
 */
export type Backoff = number | readonly number[];

/** Milliseconds to wait after failed attempt number `attempt` (1-based). */
export function backoffDelayMs(backoff: Backoff, attempt: number): number {
  const seconds = Array.isArray(backoff)
    ? (backoff[Math.min(attempt, backoff.length) - 1] ?? 0)
    : (backoff as number);
  return Math.max(0, Math.round(seconds * 1000));
}
