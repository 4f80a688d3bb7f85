/**
 * What the process manager (manager.ts) is told, and how long it gives its processes at a
 * forced stop.
 */
import { FORCE_GRACE_MS, type WorkerOptions } from '../worker/worker-options.ts';

/** At a forced stop, processes still running this long after it are killed. */
export const FORCE_KILL_MS = FORCE_GRACE_MS + 1_000;

export interface ManagerOptions {
  /** Worker processes to keep running. */
  processes: number;
  /** What each worker process does. */
  worker: WorkerOptions;
  /** Replace a process after this many jobs (0 = never). */
  recycleAfter: number;
  /** `--watch`: the folder whose changes bring up processes with new code. */
  watch?: string;
}
