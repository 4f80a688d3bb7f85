/**
 * What a running attempt lets its job do beyond the public JobContext: hold itself back
 * (`release`), report progress, and reach the store and clock its worker uses (the built-in
 * middleware keep their limits there). A job object reaches it through its context, found by
 * shape rather than class: a job class may come from the CommonJS build of the package while
 * the worker runs the ES-module one.
 */
import type { Clock } from '../infra/clock.ts';
import type { ReservedJob } from '../store/driver.ts';
import type { RecordStore } from '../store/record-store.ts';

export interface AttemptControls {
  /** The claimed job. */
  readonly job: ReservedJob;
  /** The store's records (src/store/record-store.ts), or null when the driver has none. */
  readonly records: RecordStore | null;
  readonly clock: Clock;
  /**
   * Ends the attempt as released, due again at `at` (epoch ms), without counting it; `why` is
   * logged (at debug when `routine`: a limit's hold-back, at info otherwise).
   */
  holdUntil(at: number, why: string, routine?: boolean): void;
  /** Ends the attempt as skipped (acked, not run); a release made in the same attempt wins. */
  skip(why: string): void;
  /** The version of this job's progress record as last written by this attempt (progress.ts). */
  progressVersion: string | null;
}

/** The controls behind a job's context, or null outside a worker. */
export function controlsOf(context: unknown): AttemptControls | null {
  return typeof context === 'object' && context !== null && typeof (context as Partial<AttemptControls>).holdUntil === 'function'
    ? (context as AttemptControls)
    : null;
}
