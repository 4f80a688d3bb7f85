/**
 * Job middleware: `static middleware = [...]` on a job class wraps each attempt's run(). A
 * middleware is `(job, next) => ...`: it calls `next()` to go on (to the next middleware, then
 * run()), returns without calling it to skip the job (the attempt ends as skipped: acked, never
 * run, not counted as done), or returns `job.release(seconds)` to hold it back uncounted. A class
 * without middleware pays one property read per attempt.
 */
import type { AttemptControls } from '../worker/attempt-controls.ts';
import { UsageError } from '../infra/errors.ts';
import type { JobInstance, JobMiddleware } from '../api/job-types.ts';

/** The middleware of a class, or null when it has none (an empty list too). */
export function middlewareOf(jobClass: object): readonly JobMiddleware[] | null {
  const list = (jobClass as { middleware?: unknown }).middleware;
  if (list === undefined || list === null) return null;
  if (!Array.isArray(list) || list.some((m) => typeof m !== 'function')) {
    throw new UsageError('`static middleware` must be a list of functions `(job, next) => ...` (rateLimited(...), skipIf(...), your own)');
  }
  return list.length > 0 ? (list as JobMiddleware[]) : null;
}

/**
 * Runs `job` through `middleware`, then its run(). When a middleware returns without calling
 * next() (and without a release), the attempt ends as skipped, naming that middleware.
 */
export async function runThrough(middleware: readonly JobMiddleware[], job: JobInstance<any>, attempt: Pick<AttemptControls, 'skip'>): Promise<unknown> {
  let reached = 0;
  const step = async (i: number): Promise<unknown> => {
    reached = i;
    if (i === middleware.length) return job.run();
    let called = false;
    return middleware[i]!(job, () => {
      if (called) return Promise.reject(new UsageError('A job middleware called next() twice'));
      called = true;
      return step(i + 1);
    });
  };
  const result = await step(0);
  if (reached < middleware.length) attempt.skip(`${middleware[reached]!.name || `middleware ${reached + 1}`} returned without calling next()`);
  return result;
}
