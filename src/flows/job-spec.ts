/**
 * A job as a chain, batch or batch callback is given it: a job instance (`new SendEmail(data)`)
 * or a job named with its payload (`Job.make('notify', data)`), each with its own queue and delay
 * if set (`.onQueue()`, `.delay()`). `prepareJobs` checks them all (name known, payload JSON and
 * within the size limit, queue name, delay) before anything is stored, as a dispatch does.
 */
import { assertQueue, declareLimits, delayMs, hasLimits, laneFor } from '../api/dispatch-chain.ts';
import { UsageError } from '../infra/errors.ts';
import { isJobClass } from '../api/job-brand.ts';
import type { JobClass } from '../api/job-types.ts';
import { assertJobName } from '../infra/naming.ts';
import { assertPayloadLimits, encodePayload, type Payload } from '../api/payload.ts';
import type { Registry } from '../api/registry.ts';
import type { Clock } from '../infra/clock.ts';
import type { JobConfig } from '../infra/config.ts';
import type { Logger } from '../infra/logger.ts';
import type { FullDriver } from '../store/driver.ts';

/** Where a job instance or a made job keeps its own queue and delay (shared by the ESM and CJS builds). */
export const DISPATCH_OPTIONS: unique symbol = Symbol.for('rakit.dispatchOptions') as never;

export interface DispatchOptions {
  queue?: string;
  delay?: number;
  group?: string | number;
}

/** What a chain or batch takes: a job instance or a made job. */
export interface JobLike {
  readonly payload: Payload;
  [DISPATCH_OPTIONS]?: DispatchOptions;
}

const MADE_JOB = Symbol.for('rakit.madeJob');

/** A job named with its payload (`Job.make(name, payload)`), for a chain, batch or callback. */
export class MadeJob implements JobLike {
  readonly [MADE_JOB] = true;
  [DISPATCH_OPTIONS]?: DispatchOptions;
  constructor(readonly name: string, readonly payload: Payload = {}) {}

  /** Puts the job on queue `name` (else the chain's or batch's queue). */
  onQueue(name: string): this {
    this[DISPATCH_OPTIONS] = { ...this[DISPATCH_OPTIONS], queue: name };
    return this;
  }

  /** Runs the job `seconds` after it is stored. */
  delay(seconds: number): this {
    this[DISPATCH_OPTIONS] = { ...this[DISPATCH_OPTIONS], delay: seconds };
    return this;
  }

  /** Puts the job in group `id` of its queue (a tenant): the queue's slots go to its groups in turn. */
  onGroup(id: string | number): this {
    this[DISPATCH_OPTIONS] = { ...this[DISPATCH_OPTIONS], group: id };
    return this;
  }
}

/** A job checked and encoded, not yet stored: its payload text is the user's, without any envelope. */
export interface PreparedJob {
  name: string;
  queue: string;
  payload: string;
  /** ms after now. */
  delayMs: number;
}

/** What a workflow is stored and settled with: the runtime's parts (runtime.ts), named here so the worker needs no runtime. */
export interface FlowEnv {
  driver: FullDriver;
  registry: Registry;
  config: JobConfig;
  clock: Clock;
  logger: Logger;
}

/** Checks and encodes jobs; `queue` is the default of those that set none. Throws before anything is stored. */
export async function prepareJobs(env: FlowEnv, jobs: readonly JobLike[], queue: string, what: string): Promise<PreparedJob[]> {
  if (!Array.isArray(jobs)) throw new UsageError(`${what}() takes an array of jobs, not ${jobs === null ? 'null' : typeof jobs}`);
  const prepared: PreparedJob[] = [];
  for (const [i, job] of jobs.entries()) {
    const name = await nameOf(env, job, `${what}[${i}]`);
    assertJobName(name);
    const payload = encodePayload(job.payload);
    assertPayloadLimits(payload, env.config);
    const options = job[DISPATCH_OPTIONS] ?? {};
    const q = options.queue ?? queue;
    assertQueue(q);
    const handler = env.registry.resolve(name);
    const jobClass = handler?.kind === 'class' ? handler.jobClass : null;
    const lane = laneFor(q, jobClass, payload, options.group);
    if (hasLimits(jobClass, undefined)) await declareLimits(env.driver, lane, jobClass, undefined, env.clock.now());
    prepared.push({ name, queue: lane, payload, delayMs: delayMs(options.delay ?? 0) });
  }
  return prepared;
}

async function nameOf(env: FlowEnv, job: JobLike, where: string): Promise<string> {
  if ((job as Partial<MadeJob> | null)?.[MADE_JOB] === true) {
    const name = (job as MadeJob).name;
    if (!env.registry.resolve(name)) await env.registry.discover();
    env.registry.assertKnown(name);
    return name;
  }
  const jobClass = (job as object | null)?.constructor;
  if (!isJobClass(jobClass)) {
    throw new UsageError(`${where} is not a job: give a job instance (new SendEmail(data)) or Job.make(name, payload)`);
  }
  env.registry.remember(jobClass as JobClass);
  return (jobClass as JobClass).nameOfJob;
}

/** Held jobs (later chain steps, a chain's catch, batch callbacks) run when their workflow makes them due: a delay of their own cannot hold. */
export function refuseDelay(jobs: readonly PreparedJob[], where: (k: number) => string, instead: string): void {
  const k = jobs.findIndex((job) => job.delayMs > 0);
  if (k >= 0) throw new UsageError(`${where(k)} has a delay, which cannot hold: it runs when its workflow makes it due (${instead})`);
}
