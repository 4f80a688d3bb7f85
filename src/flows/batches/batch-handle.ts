/**
 * `Batch`: a batch as `this.batch()`, `Job.batch(...).dispatch()` and `job:batches` see it, read
 * from its record at one moment (`fresh()` reads again), with `add(jobs)` to grow it from inside
 * one of its jobs and `cancel()`.
 */
import { UsageError } from '../../infra/errors.ts';
import { countsOf, withOutcome, type BatchRecord } from './batch-record.ts';
import { readBatch, updateBatch } from './batch-store.ts';
import { cancelBatch, runCallbacks, type FlowStore } from './batch-settle.ts';
import { wrapPayload } from '../envelope.ts';
import { prepareJobs, type FlowEnv, type JobLike } from '../job-spec.ts';

export class Batch {
  readonly id: string;
  readonly name: string | null;
  readonly queue: string;
  readonly totalJobs: number;
  /** Jobs not settled yet. */
  readonly pendingJobs: number;
  /** Jobs settled: done, failed, or not run because the batch was cancelled. */
  readonly processedJobs: number;
  readonly failedJobs: number;
  /** processedJobs as a whole percentage of totalJobs. */
  readonly progress: number;
  readonly cancelled: boolean;
  readonly finished: boolean;
  readonly createdAt: Date;
  readonly cancelledAt: Date | null;
  readonly finishedAt: Date | null;
  readonly #env: FlowEnv;

  constructor(env: FlowEnv, record: BatchRecord) {
    const counts = countsOf(record);
    this.#env = env;
    this.id = record.id;
    this.name = record.name;
    this.queue = record.queue;
    this.totalJobs = counts.total;
    this.pendingJobs = counts.pending;
    this.processedJobs = counts.processed;
    this.failedJobs = counts.failed;
    this.progress = counts.progress;
    this.cancelled = record.cancelledAt !== null;
    this.finished = record.finishedAt !== null;
    this.createdAt = new Date(record.createdAt);
    this.cancelledAt = record.cancelledAt === null ? null : new Date(record.cancelledAt);
    this.finishedAt = record.finishedAt === null ? null : new Date(record.finishedAt);
  }

  /** The batch as it stands now (null once its record expired). */
  async fresh(): Promise<Batch | null> {
    return openBatch(this.#env, this.id);
  }

  /**
   * Cancels the batch: its jobs not started yet are not run; `then` will not run, `finally` will.
   * False, changing nothing, when the batch had already finished or been cancelled.
   */
  async cancel(): Promise<boolean> {
    return (await cancelBatch(store(this.#env), this.id, this.#env.clock.now())).cancelled;
  }

  /** Adds jobs to the batch (from one of its jobs, before it has finished), stored in one step. */
  async add(jobs: readonly JobLike[]): Promise<void> {
    const env = this.#env;
    const prepared = await prepareJobs(env, jobs, this.queue, 'batch.add');
    if (prepared.length === 0) return;
    let first = 0;
    const grown = await updateBatch(store(env), this.id, (current) => {
      if (current.finishedAt !== null) throw new UsageError(`Batch ${this.id} has finished: no job can be added to it`);
      first = current.total;
      const queues = current.queues && [...new Set([...current.queues, ...prepared.map((job) => job.queue)])];
      return { ...current, total: current.total + prepared.length, ...(queues && { queues }) };
    });
    if (!grown) throw new UsageError(`Batch ${this.id} no longer exists`);
    const now = env.clock.now();
    try {
      await env.driver.pushMany(prepared.map((job, k) => ({
        name: job.name, queue: job.queue, payload: wrapPayload({ batch: this.id, i: first + k }, job.payload), scheduledAt: now + job.delayMs, overlapKey: null,
      })));
    } catch (error) {
      // None stored: count them as skipped so the batch can still finish.
      const record = await updateBatch(store(env), this.id, (current) => {
        let next = current;
        for (let i = first; i < first + prepared.length; i++) next = withOutcome(next, i, 'skipped') ?? next;
        if (countsOf(next).pending === 0 && next.finishedAt === null) next = { ...next, finishedAt: env.clock.now() };
        return next;
      });
      if (record) await runCallbacks(store(env), record);
      throw error;
    }
    env.logger.info({ batch: this.id, jobs: prepared.length }, `Batch ${this.name ?? this.id}: ${prepared.length} jobs added`);
  }
}

export async function openBatch(env: FlowEnv, id: string): Promise<Batch | null> {
  const record = await readBatch(env.driver, id);
  return record ? new Batch(env, record) : null;
}

function store(env: FlowEnv): FlowStore {
  return env.driver;
}
