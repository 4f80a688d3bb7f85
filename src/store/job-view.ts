/**
 * How the Jobs page judges and searches pending jobs, decided once for every backend: a job's
 * state at a time, and what a search matches. Each backend applies these natively (SQL as WHERE
 * clauses, Redis over its sorted sets and header lines, file and memcached in memory through
 * drivers/admin-shared.ts `pageJobs`); the admin conformance suite pins that they agree.
 */
import type { JobQuery, JobState } from './admin-store.ts';
import { LANE_SEPARATOR, queueOfLane } from './claims/lanes.ts';

/** A pending job's state at `now`: a live lease makes it reserved, else its due time decides. */
export function jobState(scheduledAt: number, leaseUntil: number | null, now: number): JobState {
  if (leaseUntil !== null && leaseUntil > now) return 'reserved';
  return scheduledAt <= now ? 'ready' : 'scheduled';
}

/**
 * A search: a pending job matches when its id is `text` exactly, or its job name or its queue
 * holds `part` (the text in lower case) in any case. Null when the query has no search.
 */
export interface JobSearch {
  text: string;
  part: string;
}

export function searchOf(query: JobQuery): JobSearch | null {
  return query.search === null || query.search === '' ? null : { text: query.search, part: query.search.toLowerCase() };
}

/**
 * Whether a job stored on `queue` is in the Jobs page's queue `filter`: a queue holds its groups'
 * lanes (claims/lanes.ts); a filter naming a lane (`mail+acme`) holds that lane only.
 */
export function inQueue(queue: string, filter: string): boolean {
  return queue === filter || (!filter.includes(LANE_SEPARATOR) && queueOfLane(queue) === filter);
}

/** The lanes' SQL LIKE pattern of queue `filter` (with `!` as its escape), or null for a lane's filter. */
export function lanesPattern(filter: string): string | null {
  return filter.includes(LANE_SEPARATOR) ? null : `${filter.replace(/[!%_]/g, '!$&')}${LANE_SEPARATOR}%`;
}

/** Whether the search matches every job of `queue` by its queue name alone. */
export function matchesQueue(search: JobSearch, queue: string): boolean {
  return queue.toLowerCase().includes(search.part);
}

/** Whether the search matches a job of this id, name and queue. */
export function matchesJob(search: JobSearch, job: { id: string; name: string; queue: string }): boolean {
  return job.id === search.text || matchesQueue(search, job.queue) || job.name.toLowerCase().includes(search.part);
}

/** The search as a SQL LIKE pattern on a lower-cased column, with `!` as its escape (wildcards taken literally). */
export function likePattern(search: JobSearch): string {
  return `%${search.part.replace(/[!%_]/g, '!$&')}%`;
}
