/**
 * How the process manager starts its worker processes (the binary, and the argument that makes
 * it one) and the messages between them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReservedJob } from '../store/driver.ts';
import type { AttemptPlan } from '../worker/job-policy.ts';
import type { Settled, WireError } from '../worker/settle.ts';
import type { StopReason, WorkerSummary } from '../worker/worker-options.ts';

/** Worker process → manager. Attempts are reported in batches: one message per event-loop turn. */
export type WorkerMessage =
  /**
   * Job ids of attempts whose code ended (`finished`: their kill deadline is over) and of attempts
   * whose outcome is recorded (`ended`, with what it was: the run's counts are made of these),
   * then attempts about to start. `succeeded`: those of `finished` whose code succeeded. Ends ride
   * on the next start (one message per job at concurrency 1), so a process may die after a
   * success's ack was recorded and before it told of it: the manager then finds the job held
   * nowhere in the store and counts it done (child-exit.ts).
   */
  | { type: 'attempts'; finished: string[]; succeeded: string[]; ended: [id: string, kind: Settled['kind']][]; started: WireAttempt[] }
  /** Every second: its memory, and the attempts it finished so far (a retried one counts as failed). */
  | { type: 'beat'; rss: number; done: number; failed: number }
  /** The job files have loaded. */
  | { type: 'ready' }
  /** A claim of up to `n` jobs under a run-wide cap (--once, --max-jobs). */
  | { type: 'want'; n: number }
  /** Budget granted but not used by a claim. */
  | { type: 'unused'; n: number }
  /** This process reached max_job: start its successor. */
  | { type: 'due' }
  /** It ends on bad usage or configuration (exit 2): starting another would only repeat it. */
  | { type: 'fatal' }
  /** The failed() hook sent with this `id` has run. */
  | { type: 'hook-done'; id: number }
  /** `waiting`: --stop-when-empty, when the jobs it released or retried are due (it stopped before them). */
  | { type: 'stopped'; summary: WorkerSummary; waiting?: readonly number[] };

/** Manager → worker process. */
export type ManagerMessage =
  /** Stop claiming, finish the running jobs; `reason` for the summary. */
  | { type: 'stop'; reason?: StopReason }
  | { type: 'force' }
  /** Job `id` was cancelled (a request the manager read): abort its attempt's signal. */
  | { type: 'cancel'; id: string }
  /** The answer to `want`. */
  | { type: 'grant'; n: number }
  /** Run the class's failed() hook for a job the manager failed (its process was killed or died). */
  | { type: 'failed-hook'; id: number; job: ReservedJob; error: WireError }
  /** Fire the Job.on() listeners of an outcome the manager recorded (job-events.ts); answered by `hook-done` too. */
  | { type: 'job-event'; id: number; job: ReservedJob; settled: Settled; ms: number; error: WireError | null };

/**
 * An attempt about to start as one flat array: a batch of them serialises in half the time of
 * objects. Read it through `wire` (the positions have names there), never by index.
 */
export type WireAttempt = [
  id: string, name: string, queue: string, payload: string, attempts: number, scheduledAt: number, createdAt: number,
  overlapKey: string | null, token: string, reservedUntil: number, timeoutMs: number, final: boolean, backoffMs: number, tries: number,
];

export function toWire(job: ReservedJob, plan: AttemptPlan): WireAttempt {
  return [job.id, job.name, job.queue, job.payload, job.attempts, job.scheduledAt, job.createdAt, job.overlapKey, job.token,
    job.reservedUntil, plan.timeoutMs, plan.final, plan.backoffMs, plan.tries];
}

/** Named readers of a WireAttempt. */
export const wire = {
  id: (w: WireAttempt): string => w[0],
  timeoutMs: (w: WireAttempt): number => w[10],
  job(w: WireAttempt): ReservedJob {
    const [id, name, queue, payload, attempts, scheduledAt, createdAt, overlapKey, token, reservedUntil] = w;
    return { id, name, queue, payload, attempts, scheduledAt, createdAt, overlapKey, token, reservedUntil };
  },
  plan(w: WireAttempt): AttemptPlan {
    const [,,,,,,,,,, timeoutMs, final, backoffMs, tries] = w;
    return { timeoutMs, final, backoffMs, tries };
  },
};

/** The rakit binary, found above this module (src/manager/ in a checkout and under vitest, dist/ otherwise). */
export const BIN = (() => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'rakit.js');
    if (existsSync(bin) || dir === path.dirname(dir)) return bin;
  }
})();

/** The argument that makes `bin/rakit.js` a worker process; its options travel in RAKIT_WORKER. */
export const WORKER_ARG = '__worker';
