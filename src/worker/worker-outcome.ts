/**
 * How the worker turns an attempt into a settlement, and what it tells settle (settle.ts) to use:
 * its batched acks, the metrics, the flows' seam and the job events. Kept apart from the loop
 * (worker.ts), which only schedules attempts.
 */
import type { AckBatcher } from './ack-batcher.ts';
import type { Attempt, AttemptOutcome, OnStuck } from './attempt.ts';
import type { Flows } from '../flows/settle-flows.ts';
import { jobEventObserver } from '../api/job-events.ts';
import { runFailedHook, type SettleDeps, type Settlement } from './settle.ts';
import type { WorkerAdmin } from './worker-admin.ts';
import type { WorkerDeps } from './worker-hooks.ts';
import { JobResults } from '../store/job-results.ts';
import { CancelledError } from '../infra/errors.ts';

/** Results kept as the config says (none with result_retention_hours: 0). */
export function resultsOf(deps: Pick<WorkerDeps, 'driver' | 'config' | 'logger'>): JobResults | null {
  return deps.config.result_retention_hours > 0 ? new JobResults(deps.driver, deps.config, deps.logger) : null;
}

export function workerSettleDeps(deps: WorkerDeps, acks: AckBatcher, admin: WorkerAdmin, flows: Flows | null): SettleDeps {
  const events = jobEventObserver(deps.logger);
  const told = deps.hooks?.settled;
  return {
    flows,
    metrics: admin.metrics,
    results: resultsOf(deps),
    driver: deps.driver, clock: deps.clock, logger: deps.logger,
    ack: (job) => acks.ack(job),
    failedHook: (job, error) => runFailedHook(deps.registry, deps.logger, job, error),
    observe: told ? (job, settled, ms, error) => {
      events(job, settled, ms, error);
      told(job, settled, error);
    } : events,
  };
}

const DONE: Settlement = { kind: 'done' };

/** The settlement of an attempt's outcome; `forced`: the worker was forced to stop. */
export function settlementOf(outcome: AttemptOutcome, attempt: Attempt, forced: boolean): Settlement {
  // Cancelled from outside: that stands, whatever its code did after its signal aborted.
  if (attempt.cutReason instanceof CancelledError) return { kind: 'cancel', how: attempt.abandoned ? 'its code ignored its signal and was given up on' : 'its code stopped' };
  if (forced && (outcome.status === 'error' || attempt.cutReason)) {
    // Cut short by us, not by the job: back to the queue uncounted.
    return { kind: 'release', why: attempt.abandoned ? 'worker forced to stop; its code did not end and stops with this process' : 'worker forced to stop' };
  }
  if (outcome.status === 'done') return outcome.value === undefined ? DONE : { kind: 'done', value: outcome.value };
  if (outcome.status === 'released') return { kind: 'release', why: outcome.why, at: outcome.at, routine: outcome.routine };
  return outcome.status === 'skipped' ? { kind: 'skip', why: outcome.why } : { kind: 'failure', error: outcome.error, final: outcome.final };
}

/** In-process, nothing can kill a job's code that ignores its signal: say so, once per attempt. */
export function cannotStop(logger: WorkerDeps['logger']): OnStuck {
  return (job, timeoutMs) => {
    logger.error({ id: job.id, job: job.name, queue: job.queue, attempt: job.attempts },
      `Job ${job.name} (id ${job.id}) ran past its timeout of ${timeoutMs / 1000} s and ignores its AbortSignal: it cannot be stopped in this process (--in-process); it keeps its slot until its code ends`);
  };
}
