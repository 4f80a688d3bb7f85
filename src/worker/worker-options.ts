/**
 * What a worker is asked to do (WorkerOptions), why it stops (the stop table, StopReason), and
 * the exit code each stop gives the process (EXIT_CODES, named in EXIT).
 */
import type { Backoff } from '../infra/backoff.ts';

export interface WorkerOptions {
  /** Strict priority order of queues; null = every queue, oldest due first. */
  queues: string[] | null;
  /** `--queue=high:6,default:3,low:1`: the queues' weights, in their order; null = strict priority. */
  weights?: number[] | null;
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
  /** When the run began (epoch ms), for --max-time across worker processes; default: when this worker starts. */
  runStartedAt?: number;
  /** Under the manager: after this many claims the process's successor may start (0 = never). */
  replaceAfter?: number;
  /** Under the manager: each claim asks it for budget (a run-wide --once or --max-jobs). */
  budgetFromManager?: boolean;
  /**
   * --stop-when-empty under the manager: when jobs released or retried by processes of this run
   * that stopped before they were due (a replaced process, a dead one) are due; this process
   * waits for them as for its own before it finds the queues empty.
   */
  waitFor?: number[];
  /** Under the manager: whom its claims are made for (claimToken), so the manager can give back what it held if it dies. */
  owner?: string;
  /** Under the manager: this process says the run's start line (and the driver's warning) once its jobs have loaded. */
  announceStart?: boolean;
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

/** After a forced stop, how long a worker waits for job code to end before giving up on it. */
export const FORCE_GRACE_MS = 1_000;

/** Why a worker stops; `recycled`: its successor took over (max_job). */
export type StopReason = 'signal' | 'forced' | 'once' | 'empty' | 'max-jobs' | 'max-time' | 'memory' | 'restart' | 'recycled';

/** The process exit codes, by name. */
export const EXIT = {
  ok: 0,
  /** A runtime failure. */
  failure: 1,
  /** Bad usage or bad configuration: starting again would only repeat it. */
  usage: 2,
  /** A worker process that asks to be replaced (over --memory). */
  replaceMe: 12,
} as const;

/** The exit code of each stop. */
export const EXIT_CODES: Record<StopReason, number> = {
  signal: EXIT.ok,
  forced: EXIT.ok,
  once: EXIT.ok,
  empty: EXIT.ok,
  'max-jobs': EXIT.ok,
  'max-time': EXIT.ok,
  memory: EXIT.replaceMe,
  restart: EXIT.ok,
  recycled: EXIT.ok,
};

export interface WorkerSummary {
  reason: StopReason;
  /** Attempts that succeeded. */
  done: number;
  /** Attempts that failed and were scheduled again. */
  retried: number;
  /** Jobs moved to the failed store. */
  failed: number;
  /** Jobs acked without running (skipIf, a middleware that did not call next(), a cancelled batch). */
  skipped: number;
}

/** What the stop table looks at. */
export interface WorkerState {
  /** Set once a stop was asked for: 'forced' for the second phase. */
  quit: StopReason | null;
  memoryExceeded: boolean;
  /** Jobs claimed so far. */
  claimed: number;
  /** Claimed jobs whose outcome is not recorded yet. */
  running: number;
  /** Since the run began. */
  elapsedMs: number;
}

/** The stop table: the first reason that holds ends the loop (`job:restart` is looked up apart, it costs a read). */
export function stopReason(o: WorkerOptions, s: WorkerState): StopReason | null {
  if (s.quit) return s.quit;
  if (s.memoryExceeded) return 'memory';
  if (o.once && s.claimed >= 1 && s.running === 0) return 'once';
  if (o.maxJobs > 0 && s.claimed >= o.maxJobs && s.running === 0) return 'max-jobs';
  if (o.maxTime > 0 && s.elapsedMs >= o.maxTime * 1000) return 'max-time';
  return null;
}

/** How many more jobs a worker may claim after `claimed`. */
export function claimBudget(o: WorkerOptions, claimed: number): number {
  const caps = [Infinity];
  if (o.once) caps.push(1);
  if (o.maxJobs > 0) caps.push(o.maxJobs);
  return Math.min(...caps) - claimed;
}
