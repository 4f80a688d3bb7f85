/**
 * What a worker is asked to do (WorkerOptions), why it stops (StopReason), and the exit code
 * each stop gives the process.
 */
import type { Backoff } from './backoff.ts';

export interface WorkerOptions {
  /** Strict priority order of queues; null = every queue, oldest due first. */
  queues: string[] | null;
  /** Only these job names (`job:run <name...>`); null = every name. */
  names: string[] | null;
  /** Jobs run at once in this process. */
  concurrency: number;
  /** Idle wait between looks at the queue, ms. */
  sleepMs: number;
  /** `--retries`: total attempts for classes that do not declare `tries`. */
  tries: number | null;
  /** `--backoff`: seconds before retries for classes that do not declare `backoff`. */
  backoff: Backoff | null;
  /** `--timeout`: seconds for classes that do not declare `timeout`. */
  timeout: number | null;
  /** Stop after one job. */
  once: boolean;
  /** Stop when nothing is due and none of this run's retries is waiting. */
  stopWhenEmpty: boolean;
  /** Stop after this many jobs; 0 = no limit. */
  maxJobs: number;
  /** Stop after this many seconds; 0 = no limit. */
  maxTime: number;
  /** Stop after a job when the process uses more than this many MB (RSS); 0 = no limit. */
  memory: number;
  /**
   * The driver's restart mark when the run began (`job:restart`); the worker stops once the
   * stored mark differs. Undefined: read it when the worker starts.
   */
  restartMark?: number | null;
}

export const DEFAULT_WORKER_OPTIONS: WorkerOptions = {
  queues: null,
  names: null,
  concurrency: 1,
  sleepMs: 1000,
  tries: null,
  backoff: null,
  timeout: null,
  once: false,
  stopWhenEmpty: false,
  maxJobs: 0,
  maxTime: 0,
  memory: 0,
};

/** A lease outlasts the job's timeout by this much, so no second worker can take a job still being stopped. */
export const LEASE_GRACE_MS = 15_000;

export type StopReason = 'signal' | 'forced' | 'once' | 'empty' | 'max-jobs' | 'max-time' | 'memory' | 'restart';

/** How often a worker looks for a `job:restart` mark. */
export const RESTART_CHECK_MS = 1_000;

export const EXIT_CODES: Record<StopReason, number> = {
  signal: 0,
  forced: 0,
  once: 0,
  empty: 0,
  'max-jobs': 0,
  'max-time': 0,
  memory: 12,
  restart: 0,
};
