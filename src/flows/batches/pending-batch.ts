/**
 * `Job.batch([...]).then(job).catch(job).finally(job).allowFailures().name(n).onQueue(q).dispatch()`:
 * jobs that run in parallel and are counted as one batch. Stored in three steps: the callbacks
 * as held jobs (held.ts), then the batch's record (batch-store.ts), then every job in one
 * `pushMany`; if that fails, the callbacks and the record are removed and the error rethrown.
 * `.withTransaction(trx)` writes all three in the app's transaction (api/in-transaction.ts), so a
 * rollback leaves neither jobs nor a record; an empty batch then stores its then and finally jobs
 * due at once (its catch job not at all), as nothing outside the transaction can see them to promote.
 */
import { randomUUID } from 'node:crypto';
import { UsageError } from '../../infra/errors.ts';
import { writerIn, type AppTransaction } from '../../api/in-transaction.ts';
import { storing } from '../../api/dispatch-scope.ts';
import { runtime } from '../../api/runtime.ts';
import { Batch } from './batch-handle.ts';
import { newRecord } from './batch-record.ts';
import { runCallbacks } from './batch-settle.ts';
import { createBatch, deleteBatch } from './batch-store.ts';
import { wrapPayload, type BatchCallback } from '../envelope.ts';
import { tracing, type TraceCarrier } from '../../infra/tracing.ts';
import { traceDispatch } from '../traced.ts';
import { HELD_AT, drop } from '../held.ts';
import { assertQueue } from '../../api/dispatch-chain.ts';
import { prepareJobs, refuseDelay, type FlowEnv, type JobLike } from '../job-spec.ts';

export class PendingBatch {
  #queue = 'default';
  #name: string | null = null;
  #allowFailures = false;
  readonly #callbacks: Partial<Record<BatchCallback, JobLike>> = {};
  #transaction: AppTransaction | undefined;

  constructor(private readonly jobs: readonly JobLike[], private readonly env: () => Promise<FlowEnv> = runtime) {}

  /** A job run once when every job of the batch succeeded. */
  then(job: JobLike): this {
    return this.callback('then', job);
  }

  /** A job run once, at the batch's first failure. */
  catch(job: JobLike): this {
    return this.callback('catch', job);
  }

  /** A job run once when every job of the batch has settled, whatever the outcome. */
  finally(job: JobLike): this {
    return this.callback('finally', job);
  }

  /** A failed job does not cancel the batch (its other jobs still run). */
  allowFailures(allow = true): this {
    this.#allowFailures = allow;
    return this;
  }

  /** A name to tell the batch by in `rakit job:batches`. */
  name(name: string): this {
    this.#name = name;
    return this;
  }

  /** The queue of the batch's jobs and callbacks that set none of their own (default `default`). */
  onQueue(name: string): this {
    this.#queue = name;
    return this;
  }

  /** Writes the batch (its jobs, callbacks and record) in the app's transaction `trx`: committed and rolled back with its rows. */
  withTransaction(trx: AppTransaction): this {
    this.#transaction = trx;
    return this;
  }

  /** Stores the batch; resolves to it, or rejects having stored nothing. */
  dispatch(): Promise<Batch> {
    return storing(() => this.store());
  }

  private callback(kind: BatchCallback, job: JobLike): this {
    // `await pending` would call then(resolve, reject): say what to do instead of never resolving.
    if (typeof job === 'function') throw new UsageError('A batch is not a promise: give .then(), .catch() and .finally() jobs, and await .dispatch()');
    this.#callbacks[kind] = job;
    return this;
  }

  private async store(): Promise<Batch> {
    assertQueue(this.#queue);
    const env = await this.env();
    const jobs = await prepareJobs(env, this.jobs, this.#queue, 'batch');
    const inTransaction = this.#transaction !== undefined;
    const store = this.#transaction === undefined ? env.driver : await writerIn(env, this.#transaction);
    // An empty batch in a transaction: then and finally due at once, catch never needed.
    const dueAtOnce = inTransaction && jobs.length === 0;
    const kinds = (Object.keys(this.#callbacks) as BatchCallback[]).filter((kind) => !(dueAtOnce && kind === 'catch'));
    const callbacks = await prepareJobs(env, kinds.map((k) => this.#callbacks[k]!), this.#queue, 'batch callback');
    refuseDelay(callbacks, (k) => `the batch's ${kinds[k]} job`, 'it runs when the batch gets there');
    const id = randomUUID();
    const now = env.clock.now();
    const pushAll = async (trace: { trace?: TraceCarrier }): Promise<Batch> => {
      const pushed = await store.pushMany(callbacks.map((job, k) => ({
        name: job.name, queue: job.queue, payload: wrapPayload({ batch: id, callback: kinds[k]!, ...trace }, job.payload), scheduledAt: dueAtOnce ? now : HELD_AT, overlapKey: null,
      })));
      const callbackIds = Object.fromEntries(kinds.map((kind, k) => [kind, pushed[k]!.id!]));
      const record = newRecord({ id, name: this.#name, queue: this.#queue, total: jobs.length, queues: [...new Set(jobs.map((job) => job.queue))], allowFailures: this.#allowFailures, callbacks: callbackIds, createdAt: now });
      if (jobs.length === 0) record.finishedAt = now;
      try {
        await createBatch(store, record);
        await store.pushMany(jobs.map((job, i) => ({
          name: job.name, queue: job.queue, payload: wrapPayload({ batch: id, i, ...trace }, job.payload), scheduledAt: now + job.delayMs, overlapKey: null,
        })));
      } catch (error) {
        // In the app's transaction, its rollback takes them back.
        if (inTransaction) throw error;
        await drop(env.driver, ...Object.values(callbackIds)).catch(() => undefined);
        await deleteBatch(env.driver, id).catch(() => undefined);
        throw error;
      }
      if (jobs.length === 0 && !inTransaction) await runCallbacks(env.driver, record);
      env.logger.info({ batch: id, jobs: jobs.length }, `Batch added: ${this.#name ?? id} (${jobs.length} jobs)`);
      return new Batch(env, record);
    };
    // Traced: one dispatch span, whose context the jobs and callbacks carry.
    const traced = tracing();
    return traced ? traceDispatch(traced, 'batch', this.#queue, (carrier) => pushAll(carrier ? { trace: carrier } : {}), () => [], { id, name: this.#name ?? null }) : pushAll({});
  }
}
