/**
 * The `Job` facade: dispatch by name (for listeners and ported code), `Job.add`, and `Job.run`
 * to work off one name's due jobs inside this process, as the PHP facade did.
 */
import { PendingBatch } from '../flows/batches/pending-batch.ts';
import { PendingBulkDispatch } from '../flows/bulk-dispatch.ts';
import { PendingChain } from '../flows/pending-chain.ts';
import { cancelJob, type CancelOutcome } from '../flows/cancel-job.ts';
import { JobResults } from '../store/job-results.ts';
import { MadeJob, type JobLike } from '../flows/job-spec.ts';
import { holding } from '../infra/keep-alive.ts';
import { onJobEvent } from './job-events.ts';
import { jobResult } from './job-result.ts';
import type { Payload } from './payload.ts';
import { PendingDispatch } from './pending-dispatch.ts';
import { closeRuntime, configure, runtime } from './runtime.ts';
import type { When } from '../infra/when.ts';
import { Worker } from '../worker/worker.ts';
import {
  assertBatched, assertChained, assertDispatched, assertDispatchedTimes, assertNotDispatched, assertNothingDispatched, assertPushedOn, dispatched,
} from './inline/fake-assertions.ts';
import { startFake, stopFake } from './inline/fake-store.ts';
import { DEFAULT_WORKER_OPTIONS, type WorkerOptions, type WorkerSummary } from '../worker/worker-options.ts';

/** What `Job.run` may be told: the worker options a user sets (the names and stop-when-empty are its own). */
export type JobRunOptions = Partial<Pick<WorkerOptions,
  'queues' | 'concurrency' | 'sleepMs' | 'tries' | 'backoff' | 'timeout' | 'once' | 'maxJobs' | 'maxTime' | 'memory'>>;

export const Job = {
  /** Queues job `name` (a class's kebab name or a listened name); chain `.onQueue()` etc. */
  dispatch(name: string, payload?: Payload, when?: When): PendingDispatch {
    return new PendingDispatch({ name }, payload ?? {}, when);
  },
  /** Legacy alias of dispatch. */
  add(name: string, payload?: Payload, when?: When): PendingDispatch {
    return new PendingDispatch({ name }, payload ?? {}, when);
  },
  /** Queues job `name` to run at `when`. */
  dispatchAt(when: When, name: string, payload?: Payload): PendingDispatch {
    return new PendingDispatch({ name }, payload ?? {}, when);
  },
  /** Queues one job `name` per payload in one round trip or transaction; await for the results, in order. */
  dispatchMany(name: string, payloads: readonly Payload[]): PendingBulkDispatch {
    return new PendingBulkDispatch({ name }, payloads);
  },
  /** A job named with its payload, for a chain, a batch or a batch callback (`.onQueue()`, `.delay()` chain on it). */
  make(name: string, payload?: Payload): MadeJob {
    return new MadeJob(name, payload ?? {});
  },
  /** Jobs run one after another, each once the one before succeeded; `.dispatch()` stores them. */
  chain(jobs: readonly JobLike[]): PendingChain {
    return new PendingChain(jobs);
  },
  /** Jobs run in parallel and counted as one batch, with then/catch/finally jobs; `.dispatch()` stores them. */
  batch(jobs: readonly JobLike[]): PendingBatch {
    return new PendingBatch(jobs);
  },
  /** Runs the due jobs of these names now, in this process, and resolves when none is left. */
  run(names: string | string[], options: JobRunOptions = {}): Promise<WorkerSummary> {
    return holding(async () => {
      const rt = await runtime();
      await rt.registry.discover();
      const worker = new Worker(rt, {
        ...DEFAULT_WORKER_OPTIONS,
        sleepMs: rt.config.sleep_ms,
        ...options,
        names: Array.isArray(names) ? names : [names],
        stopWhenEmpty: true,
      });
      return worker.run();
    });
  },
  /**
   * Listens to every job's outcomes in the processes that run jobs (register in
   * application/events.ts): 'completed', 'failed' (final), 'retrying', 'released', 'skipped' (acked without running), 'cancelled' (a running job stopped by a cancel). A listener's
   * error is logged and never changes the outcome.
   */
  on: onJobEvent,
  /**
   * What job `id`'s run() returned, once it has finished (waiting up to `timeoutMs`, default 30 s);
   * rejects with a JobResultError when it failed for good (job-result.ts).
   */
  result: jobResult,
  /**
   * For an app's tests: from now on nothing is stored; each dispatch is recorded for the
   * assertions below. `Job.fake([SendEmail])` fakes only those classes (or names), and every
   * chain and batch; other jobs are stored as usual. Calling it again forgets what it recorded.
   */
  fake: startFake,
  /** Ends `Job.fake()`: dispatches are stored again. */
  restore: stopFake,
  /** The recorded dispatches of a class or name (single, bulk, a chain's first job) that the predicate accepts. */
  dispatched,
  /** Fails unless a job of the class (or name) was dispatched, one the predicate accepts if given. */
  assertDispatched,
  /** Fails unless it was dispatched exactly `times` times (default 1). */
  assertDispatchedTimes,
  /** Fails if a job of the class (or name) was dispatched, one the predicate accepts if given. */
  assertNotDispatched,
  /** Fails if anything was dispatched: a job, a chain, a batch. */
  assertNothingDispatched,
  /** Fails unless a job of the class was dispatched on `queue`. */
  assertPushedOn,
  /** Fails unless a chain of exactly these jobs (classes, names or job objects) was dispatched, in this order; returns it. */
  assertChained,
  /** Fails unless a batch the predicate accepts was dispatched; returns it. */
  assertBatched,
  /**
   * Cancels job `id` on whatever host runs it: a pending job is deleted ('cancelled'); a running
   * one is asked to stop ('requested': its AbortSignal fires within a second, it is recorded
   * cancelled once its code has stopped, and killed KILL_GRACE_MS later under `job:runall` if it
   * ignores the signal); 'missing' when it is neither (finished, or no such job). A job held by
   * its chain or batch is refused with a UsageError.
   */
  cancel(id: string): Promise<CancelOutcome> {
    return holding(async () => {
      const rt = await runtime();
      return cancelJob(rt.driver, id, { now: rt.clock.now(), by: 'api', results: new JobResults(rt.driver, rt.config, rt.logger) });
    });
  },
  /** Sets the configuration in code instead of application/config/job.ts. */
  configure,
  /** Closes the connections so a script can exit. */
  close: closeRuntime,
};
