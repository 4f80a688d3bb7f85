/**
 * How failed jobs are filtered, ordered and paged, decided once for every backend: what a filter
 * matches, the newest-first order (failed time, then id), and the cursor a page hands on. SQL
 * applies them as WHERE and ORDER BY, Redis in its listing script, file and memcached in memory
 * (drivers/admin-shared.ts `pageFailed`); the failed-jobs conformance suite pins that they agree.
 */
import type { FailedCounts, FailedFilter, FailedJob, FailedQuery } from '../driver.ts';

export const EVERY_FAILURE: FailedFilter = { queue: null, name: null, error: null, since: null, until: null };

/** Failures in a page at most. */
export const PAGE_MAX = 1_000;

export function pageLimit(query: FailedQuery): number {
  return Math.max(1, Math.min(PAGE_MAX, Math.floor(query.limit) || 1));
}

/** Ids in order: shorter first, then byte by byte (numeric order for the stores' numeric ids). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Negative when `a` comes first: the newer failure, or of two at one time the greater id. */
export function compareNewest(a: { failedAt: number; id: string }, b: { failedAt: number; id: string }): number {
  return b.failedAt - a.failedAt || compareIds(b.id, a.id);
}

export interface FailedPosition {
  failedAt: number;
  id: string;
}

/** The cursor after `f`: `<failed at>:<id>`. */
export function cursorAfter(f: FailedPosition): string {
  return `${f.failedAt}:${f.id}`;
}

/** The position a cursor names; null for none or one this order never made. */
export function parseCursor(cursor: string | null): FailedPosition | null {
  if (cursor === null) return null;
  const at = cursor.indexOf(':');
  const failedAt = Number(cursor.slice(0, at));
  return at > 0 && Number.isSafeInteger(failedAt) ? { failedAt, id: cursor.slice(at + 1) } : null;
}

/** The error text as matched: lower case; null for no error filter. */
export function errorPart(filter: FailedFilter): string | null {
  return filter.error === null || filter.error === '' ? null : filter.error.toLowerCase();
}

export function matchesFailed(filter: FailedFilter, f: Pick<FailedJob, 'queue' | 'name' | 'exception' | 'failedAt'>): boolean {
  const error = errorPart(filter);
  return (filter.queue === null || f.queue === filter.queue) && (filter.name === null || f.name === filter.name)
    && (filter.since === null || f.failedAt >= filter.since) && (filter.until === null || f.failedAt < filter.until)
    && (error === null || f.exception.toLowerCase().includes(error));
}

/** The counts of these failures. */
export function countsOf(jobs: Iterable<Pick<FailedJob, 'queue' | 'name'>>): FailedCounts {
  const counts: FailedCounts = { total: 0, byQueue: {}, byName: {} };
  for (const f of jobs) addCount(counts, f.queue, f.name, 1);
  return counts;
}

export function addCount(counts: FailedCounts, queue: string, name: string, n: number): void {
  counts.total += n;
  counts.byQueue[queue] = (counts.byQueue[queue] ?? 0) + n;
  counts.byName[name] = (counts.byName[name] ?? 0) + n;
}

/** The filter as one line for people: `queue mail, job send-email, error "timeout"`. */
export function describeFilter(filter: FailedFilter, when: (ms: number) => string): string {
  const parts = [
    filter.queue === null ? '' : `queue ${filter.queue}`, filter.name === null ? '' : `job ${filter.name}`,
    filter.error === null ? '' : `error "${filter.error}"`, filter.since === null ? '' : `since ${when(filter.since)}`,
    filter.until === null ? '' : `until ${when(filter.until)}`,
  ].filter(Boolean);
  return parts.length === 0 ? 'every failed job' : parts.join(', ');
}
