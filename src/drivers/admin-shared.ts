/**
 * The Jobs page and the failed store's pages and counts in memory, for the drivers that cannot ask
 * a query for them (file, memcached): filtering by the rules of store/job-view.ts and
 * store/failed/failed-view.ts, ordering and paging.
 */
import type { JobPage, JobQuery, JobState, JobSummary } from '../store/admin-store.ts';
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery } from '../store/driver.ts';
import { compareNewest, countsOf, cursorAfter, matchesFailed, pageLimit, parseCursor } from '../store/failed/failed-view.ts';
import { inQueue, matchesJob, matchesQueue, searchOf } from '../store/job-view.ts';
import { compareDue } from '../store/claims/queue-policy.ts';

/** Jobs read at once when a search must look at their names. */
const LOAD_BATCH = 64;

/** What a store knows of a pending job before reading its whole record. */
export interface PendingRef {
  id: string;
  queue: string;
  state: JobState;
  scheduledAt: number;
}

/**
 * One page of the pending jobs `refs` that match `query`, read in full by `load` (null: gone
 * meanwhile). Only the page is loaded, unless a search must look at job names.
 */
export async function pageJobs<T extends PendingRef>(refs: readonly T[], query: JobQuery, load: (ref: T) => Promise<JobSummary | null>): Promise<JobPage> {
  let kept = refs.filter((r) => (query.state === null || r.state === query.state) && (query.queue === null || inQueue(r.queue, query.queue)));
  const loaded = new Map<T, JobSummary | null>();
  const search = searchOf(query);
  if (search) {
    const byName = kept.filter((ref) => ref.id !== search.text && !matchesQueue(search, ref.queue));
    // Names are read in parallel batches: one at a time, 5,000 job files took 5 s.
    for (let i = 0; i < byName.length; i += LOAD_BATCH) {
      const batch = byName.slice(i, i + LOAD_BATCH);
      (await Promise.all(batch.map(load))).forEach((job, k) => loaded.set(batch[k]!, job));
    }
    kept = kept.filter((ref) => !loaded.has(ref) || (!!loaded.get(ref) && matchesJob(search, loaded.get(ref)!)));
  }
  kept.sort(compareDue); // the claim order
  const limit = Math.max(0, Math.min(500, query.limit));
  const jobs: JobSummary[] = [];
  for (const ref of kept.slice(Math.max(0, query.offset), Math.max(0, query.offset) + limit)) {
    const job = loaded.has(ref) ? loaded.get(ref)! : await load(ref);
    if (job) jobs.push(job);
  }
  return { jobs, total: kept.length };
}

/** One page of the failures `all` that match `query`, by the rules of store/failed/failed-view.ts. */
export function pageFailed(all: readonly FailedJob[], query: FailedQuery): FailedPage {
  const after = parseCursor(query.after);
  if (query.after !== null && !after) return { jobs: [], next: null };
  const limit = pageLimit(query);
  const kept = all.filter((f) => matchesFailed(query, f) && (!after || compareNewest(f, after) > 0)).sort(compareNewest);
  const jobs = kept.slice(0, limit);
  return { jobs, next: kept.length > limit ? cursorAfter(jobs.at(-1)!) : null };
}

/** The counts of the failures `all` that match `filter`. */
export function countFailedIn(all: readonly FailedJob[], filter: FailedFilter): FailedCounts {
  return countsOf(all.filter((f) => matchesFailed(filter, f)));
}
