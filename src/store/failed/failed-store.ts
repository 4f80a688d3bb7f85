/**
 * The failed store's part of a backend (part of its browser, see ../driver.ts): a failed job as
 * it is kept, the filter, page and counts a listing takes and gives, and what a store writes for
 * them. The rules a store applies to them are in failed-view.ts; retry and forget by filter,
 * built once over these, in failed-sweep.ts.
 */
export interface FailedJob {
  id: string;
  jobId: string;
  name: string;
  queue: string;
  payload: string;
  exception: string;
  attempts: number;
  overlapKey: string | null;
  failedAt: number;
}

export interface RetryResult {
  /** Failed ids put back on their queue, with the id of the new job. */
  retried: { failedId: string; jobId: string }[];
  /** Ids not in the failed store. */
  missing: string[];
  /** Ids left failed because their overlap key is held by a pending or running job. */
  overlapping: string[];
}

/** What putting one failed job back came to: the new job's id, or why it stayed as it was. */
export type Requeued = { jobId: string } | 'missing' | 'overlapping';

/**
 * Which failed jobs: each field that is not null must hold. `error` is a part of the stored
 * exception (its message or stack) in any case, taken literally; `since` <= failed time < `until`.
 */
export interface FailedFilter {
  queue: string | null;
  name: string | null;
  error: string | null;
  since: number | null;
  until: number | null;
}

/** A page of the failed jobs that match a filter. */
export interface FailedQuery extends FailedFilter {
  /** The `next` of the page before, or null for the newest failures. */
  after: string | null;
  /** At most 1,000. */
  limit: number;
}

export interface FailedPage {
  /** Newest first: by failed time, ties in an order of the store's own that every page keeps. */
  jobs: FailedJob[];
  /** Where the next page starts, or null when this one holds the last match. */
  next: string | null;
}

/** How many failed jobs match a filter: in all, and per queue and per job name. */
export interface FailedCounts {
  total: number;
  byQueue: Record<string, number>;
  byName: Record<string, number>;
}

/** The failed-job store behind `job:failed`, `job:forget`, `job:flush` and `job:retry` (failed/failed-sweep.ts pages through it). */
export interface FailedStore {
  /**
   * One page of the failures that match, newest first. Paging from `next` to `next` visits each
   * failure that stays in the store once, and never one that failed after the first page was read.
   */
  listFailed(query: FailedQuery): Promise<FailedPage>;
  /** Exact counts of the failures that match, read in one look at the store. */
  countFailed(filter: FailedFilter): Promise<FailedCounts>;
  /** One failed job, or null when there is none of that id. */
  getFailed(id: string): Promise<FailedJob | null>;
  /**
   * Puts each failed job back on its queue as a new job (attempts from zero, due at `at`) and
   * forgets it, atomically per job (one transaction or script for the call where the store has
   * them): a crash leaves it failed or queued, never both, and two callers never both queue it.
   * One outcome per id, in order: `overlapping` (it stays failed) when a pending or running job
   * holds its overlap key; `missing` when there is no failed job of that id.
   */
  requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]>;
  /** Deletes the failed jobs; one answer per id, in order: false when there was none of that id. */
  forgetFailed(ids: readonly string[]): Promise<boolean[]>;
}
