/**
 * The messages between the process manager and its worker processes.
 */
import type { ReservedJob } from './driver.ts';
import type { AttemptPlan, WorkerSummary } from './worker.ts';

/** Worker process → manager. Attempts are reported in batches: one message per event-loop turn. */
export type WorkerMessage =
  /** Attempts that ended (`ended`: job ids), then attempts about to start. */
  | { type: 'attempts'; ended: string[]; started: { job: ReservedJob; plan: AttemptPlan }[] }
  | { type: 'beat'; rss: number }
  /** The job files have loaded. */
  | { type: 'ready' }
  | { type: 'stopped'; summary: WorkerSummary };

/** Manager → worker process. */
export type ManagerMessage =
  | { type: 'stop' }
  | { type: 'force' }
  /** Run the class's failed() hook for a job the manager failed (its process was killed). */
  | { type: 'failed-hook'; job: ReservedJob; exception: string };

/** The argument that makes `bin/rakit.js` a worker process; its options travel in RAKIT_WORKER. */
export const WORKER_ARG = '__worker';
