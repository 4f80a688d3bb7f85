/**
 * `skipIf(job => ...)`: when the test is true, the job is not run and its attempt ends as
 * skipped (acked, logged "Job skipped", not counted as done), e.g. a mail whose order was
 * cancelled meanwhile.
 */
import { controlsOfJob, type Jobable } from '../api/jobable.ts';
import type { JobMiddleware } from '../api/job-types.ts';

export function skipIf<J extends Jobable<any> = Jobable<any>>(test: (job: J) => boolean | Promise<boolean>): JobMiddleware {
  if (typeof test !== 'function') throw new TypeError('skipIf(test): test must be a function of the job');
  return async (job, next) => {
    if (!(await test(job as J))) return next();
    controlsOfJob(job)?.skip('skipIf');
    return undefined;
  };
}
