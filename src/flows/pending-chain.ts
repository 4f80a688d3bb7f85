/**
 * `Job.chain([...]).onQueue(q).catch(job).dispatch()`: jobs that run one after another, each
 * once the one before it succeeded (after its own retries). Stored back to front: the catch job
 * and every job but the first are held (held.ts), each carrying in its envelope the ids of the
 * held jobs after it, then the first is stored due; chain.ts moves the chain on as each settles.
 * `.withTransaction(trx)` writes them all in the app's transaction (api/in-transaction.ts).
 */
import { randomUUID } from 'node:crypto';
import { UsageError } from '../infra/errors.ts';
import { writerIn, type AppTransaction } from '../api/in-transaction.ts';
import { storing } from '../api/dispatch-scope.ts';
import { runtime } from '../api/runtime.ts';
import { wrapPayload, type ChainFlow } from './envelope.ts';
import { HELD_AT, drop } from './held.ts';
import { assertQueue, delayMs } from '../api/dispatch-chain.ts';
import { prepareJobs, refuseDelay, type FlowEnv, type JobLike } from './job-spec.ts';
import { tracing, type TraceCarrier } from '../infra/tracing.ts';
import { queueAndGroup } from '../api/pending-dispatch.ts';
import { traceDispatch, withTrace } from './traced.ts';

export interface ChainResult {
  /** The chain's id (in each job's envelope). */
  id: string;
  /** The chain's jobs in order: the first is due, the others held until their turn. */
  jobs: { id: string; name: string; queue: string }[];
  /** The held catch job, if one was given. */
  catchId: string | null;
}

export class PendingChain {
  #queue = 'default';
  #delay = 0;
  #catch: JobLike | null = null;
  #transaction: AppTransaction | undefined;

  constructor(private readonly jobs: readonly JobLike[], private readonly env: () => Promise<FlowEnv> = runtime) {}

  /** The queue of the chain's jobs that set none of their own (default `default`). */
  onQueue(name: string): this {
    this.#queue = name;
    return this;
  }

  /** Runs the first job `seconds` from now. */
  delay(seconds: number): this {
    this.#delay = seconds;
    return this;
  }

  /** A job run once if a job of the chain finally fails (the rest of the chain is then dropped). */
  catch(job: JobLike): this {
    if (typeof job === 'function') throw new UsageError('A chain is not a promise: give .catch() a job, and await .dispatch()');
    this.#catch = job;
    return this;
  }

  /** Writes the chain's jobs in the app's transaction `trx`: they commit and roll back with its rows. */
  withTransaction(trx: AppTransaction): this {
    this.#transaction = trx;
    return this;
  }

  /** Stores the chain: resolves once every job is stored, rejects (storing nothing) on bad input. */
  dispatch(): Promise<ChainResult> {
    return storing(() => this.store());
  }

  /** A chain is not a promise: `await Job.chain([...])` without `.dispatch()` rejects saying so, rather than storing nothing. */
  then(_onFulfilled?: unknown, onRejected?: (reason: unknown) => unknown): void {
    const error = new UsageError('A chain is not a promise: store it with await Job.chain([...]).dispatch()');
    if (typeof onRejected !== 'function') throw error;
    onRejected(error);
  }

  private async store(): Promise<ChainResult> {
    if (!Array.isArray(this.jobs)) throw new UsageError('Job.chain() takes an array of jobs');
    if (this.jobs.length === 0) throw new UsageError('Job.chain() needs at least one job');
    assertQueue(this.#queue);
    const firstDelay = delayMs(this.#delay);
    const env = await this.env();
    const jobs = await prepareJobs(env, this.jobs, this.#queue, 'chain');
    const [onCatch] = this.#catch ? await prepareJobs(env, [this.#catch], this.#queue, 'chain.catch') : [];
    refuseDelay(jobs.slice(1), (k) => `chain[${k + 1}]`, 'delay the chain, or its first job');
    if (onCatch) refuseDelay([onCatch], () => 'the chain\'s catch job', 'it runs when a job of the chain fails');
    const id = randomUUID();
    const stored: string[] = [];
    const store = this.#transaction === undefined ? env.driver : await writerIn(env, this.#transaction);
    const push = async (job: { name: string; queue: string; payload: string }, scheduledAt: number): Promise<string> => {
      const result = await store.push({ ...job, scheduledAt, overlapKey: null });
      if (result.skipped) throw new Error('a chain job was skipped as overlapping');
      stored.push(result.id);
      return result.id;
    };
    const pushAll = async (trace: TraceCarrier | null): Promise<ChainResult> => {
      const catchId = onCatch ? await push({ ...onCatch, payload: withTrace(trace, onCatch.payload) }, HELD_AT) : null;
      const ids: string[] = new Array<string>(jobs.length);
      for (let k = jobs.length - 1; k >= 0; k--) {
        const job = jobs[k]!;
        const chain: ChainFlow = { id, next: ids[k + 1] ?? null, rest: ids.slice(k + 2), catch: catchId };
        const at = k === 0 ? env.clock.now() + firstDelay + job.delayMs : HELD_AT;
        ids[k] = await push({ name: job.name, queue: job.queue, payload: wrapPayload(trace ? { chain, trace } : { chain }, job.payload) }, at);
      }
      env.logger.info({ chain: id, jobs: ids }, `Chain added: ${jobs.map((j) => j.name).join(' → ')}`);
      return { id, jobs: jobs.map((job, k) => ({ id: ids[k]!, name: job.name, ...queueAndGroup(job.queue) })), catchId };
    };
    try {
      // Traced: one dispatch span, of the chain's first job, whose context every job carries.
      const traced = tracing();
      return await (traced ? traceDispatch(traced, jobs[0]!.name, jobs[0]!.queue, pushAll, (r) => [r.jobs[0]!.id]) : pushAll(null));
    } catch (error) {
      // In the app's transaction, its rollback takes them back (and they are not visible from here).
      if (this.#transaction === undefined) await drop(env.driver, ...stored).catch(() => undefined);
      throw error;
    }
  }
}
