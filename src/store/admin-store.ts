/**
 * The capabilities behind the dashboard, `job:pause`/`job:resume` and `/metrics`, one interface
 * each, beside the store contract in driver.ts. Each backend writes the job and lock browsers
 * (`BrowsableQueue`, `LockBrowser`) natively; paused queues, the worker registry and metrics are
 * built once over the records (store-services.ts). The admin conformance suite
 * (test/conformance/admin-contract.ts) pins all five on all seven stores.
 *
 * None of them is on the worker's hot path except `pausedQueues` (read at most once a second by
 * a worker) and `addMetrics` (called by a background flush, never per job).
 */

/** Where a pending job stands: due and unclaimed, not yet due, or held by a worker under a lease. */
export type JobState = 'ready' | 'scheduled' | 'reserved';

export interface JobQuery {
  /** One state, or null for all three. */
  state: JobState | null;
  /** One queue, or null for all. */
  queue: string | null;
  /** An exact job id, or a case-insensitive part of the job name or queue; null for no filter. */
  search: string | null;
  offset: number;
  /** At most 500. */
  limit: number;
}

/** A pending job as the dashboard shows it (state is judged at the store's clock). */
export interface JobSummary {
  id: string;
  name: string;
  queue: string;
  payload: string;
  attempts: number;
  scheduledAt: number;
  createdAt: number;
  overlapKey: string | null;
  state: JobState;
  /** Lease end while reserved, else null. */
  reservedUntil: number | null;
}

export interface JobPage {
  /** Ordered by due time, then id (the claim order). */
  jobs: JobSummary[];
  /** How many jobs match the query in all (for paging). */
  total: number;
}

/** Pending jobs, for the Jobs page. */
export interface BrowsableQueue {
  listJobs(query: JobQuery): Promise<JobPage>;
  getJob(id: string): Promise<JobSummary | null>;
  /** Deletes a ready or scheduled job (never a reserved one) and frees its overlap key; false when it is not pending or not there. */
  cancelJob(id: string): Promise<boolean>;
  /** Makes a scheduled job due now; false when it is not scheduled (already due, reserved, or gone). */
  runJobNow(id: string): Promise<boolean>;
}

/**
 * Paused queues: a worker claims nothing from a paused queue; it reads the list at most once a
 * second (PAUSE_POLL_MS), so a pause holds everywhere within a second. Jobs stay where they are.
 */
export interface PausableQueue {
  /** Idempotent. */
  pauseQueue(queue: string): Promise<void>;
  /** False when the queue was not paused. */
  resumeQueue(queue: string): Promise<boolean>;
  /** Sorted. */
  pausedQueues(): Promise<string[]>;
}

export const PAUSE_POLL_MS = 1_000;

/** Why a worker process stopped: the worker's own stop reasons, and what the manager saw from outside. */
export type WorkerEnd =
  | 'signal' | 'forced' | 'once' | 'empty' | 'max-jobs' | 'max-time' | 'memory' | 'restart' | 'recycled'
  | 'timeout-kill' | 'crash' | 'lost';

/** A live worker process, as its beat says. */
export interface WorkerBeat {
  /** Unique per process: `host:pid:startedAt`. */
  id: string;
  host: string;
  pid: number;
  /** The queues it takes from in priority order, or null for every queue. */
  queues: string[] | null;
  /** The jobs it is running now. */
  running: { id: string; name: string; queue: string; startedAt: number }[];
  startedAt: number;
  beatAt: number;
  /** Attempts it finished so far that succeeded. */
  done: number;
  /** Attempts it finished so far that failed, those retried included: not only final failures. */
  failed: number;
}

export interface WorkerRecord extends WorkerBeat {
  /** Null while live. */
  stoppedAt: number | null;
  /** Why it stopped; `lost` when its beats stopped coming (LIVE_WITHIN_MS) with no word. */
  end: WorkerEnd | null;
}

/** A worker beats every HEARTBEAT_MS; one whose last beat is older than LIVE_WITHIN_MS is lost. */
export const HEARTBEAT_MS = 5_000;
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_MS;
/** Stopped (and lost) workers kept for the Workers page: the newest this many. */
export const STOPPED_KEPT = 50;

/** Worker processes on every host sharing the store. */
export interface WorkerRegistry {
  /** Stores the beat (replacing the last one of this id). */
  beat(beat: WorkerBeat): Promise<void>;
  /** Marks the worker stopped at `at` with why; keeps only the newest STOPPED_KEPT stopped ones. */
  workerStopped(id: string, end: WorkerEnd, at: number): Promise<void>;
  /** Live workers first (newest start first), then the newest stopped ones, lost ones marked `lost` as of `now`. */
  listWorkers(now: number): Promise<WorkerRecord[]>;
}

/** Upper bounds (ms) of the runtime histogram's buckets; one more bucket counts the rest (+Inf). */
export const RUNTIME_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000] as const;

/** What finished in one minute, for one queue and job name. Counters only, so samples add up. */
export interface MetricSample {
  /** Epoch ms of the start of the minute (a multiple of 60,000). */
  minute: number;
  queue: string;
  name: string;
  done: number;
  failed: number;
  retried: number;
  /** Sum of runtimes (start to end of the attempt) of the attempts counted above, ms. */
  runtimeMs: number;
  /** Sum of waits (due time to start) of those attempts, ms. */
  waitMs: number;
  /** Attempts per runtime bucket: RUNTIME_BUCKETS_MS.length + 1 counts. */
  buckets: number[];
}

/**
 * The minute under which all-time totals are kept (each flush adds its samples there too), so
 * Prometheus counters only ever grow. Never pruned.
 */
export const TOTALS_MINUTE = 0;

/** Per-minute metrics kept in the store's records, with bounded retention. */
export interface MetricsStore {
  /**
   * Adds each sample to the stored one of its (minute, queue, name), atomically per sample, from
   * any number of writers. `keepMs`: a minute is forgotten that long after it began (never the
   * totals), even where no prune reaches it.
   */
  addMetrics(samples: readonly MetricSample[], keepMs?: number): Promise<void>;
  /** Samples with `from <= minute < to`, one per (minute, queue, name), sorted by minute, then queue, then name. */
  readMetrics(from: number, to: number): Promise<MetricSample[]>;
  /** Drops samples of minutes before `before`, never those of TOTALS_MINUTE; returns how many. */
  pruneMetrics(before: number): Promise<number>;
}

/** An overlap key held by a pending or running job (withoutOverlapping). */
export interface OverlapLock {
  key: string;
  jobId: string;
  name: string;
  queue: string;
  state: JobState;
  /** When the job holding it was stored. */
  since: number;
}

/** Held overlap keys, for the Locks page. */
export interface LockBrowser {
  listOverlapLocks(): Promise<OverlapLock[]>;
  /** Frees the key (the job stays and runs; a new dispatch with the key is taken again); false when no job holds it. */
  releaseOverlapLock(key: string): Promise<boolean>;
}
