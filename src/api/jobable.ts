/**
 * `Jobable`, the base class of every job: payload access, the per-class settings (timeout,
 * tries, backoff, jobName), and the static dispatch entry points.
 */
import { controlsOf, type AttemptControls } from '../worker/attempt-controls.ts';
import type { Backoff } from '../infra/backoff.ts';
import { reportProgress } from '../middleware/progress.ts';
import type { JobClass, JobContext, JobInstance, JobMiddleware } from './job-types.ts';
import { JOBABLE_BRAND } from './job-brand.ts';
import { kebabCase } from '../infra/naming.ts';
import { readPath, type Payload } from './payload.ts';
import { PendingDispatch } from './pending-dispatch.ts';
import type { Batch } from '../flows/batches/batch-handle.ts';
import { PendingBulkDispatch } from '../flows/bulk-dispatch.ts';
import { batchOfContext } from '../flows/job-context.ts';
import { DISPATCH_OPTIONS, type DispatchOptions } from '../flows/job-spec.ts';
import type { When } from '../infra/when.ts';
import { splitLane } from '../store/claims/lanes.ts';

let contextOf: (job: Jobable<any>) => JobContext | undefined;

/** What the worker lets this job do beyond its context (hold back, progress), or null outside a worker. */
export function controlsOfJob(job: JobInstance<any>): AttemptControls | null {
  return controlsOf(contextOf(job as Jobable<any>));
}

/** `release()` without an argument: seconds until the job is due again. */
export const RELEASE_DEFAULT_S = 1;
/** The least a release waits, in seconds: `release(0)` in a middleware must not hot-loop. */
export const RELEASE_FLOOR_S = 0.1;

/** kebabCase of each class name, computed once (a job's name is looked up per attempt). */
const kebabNames = new WeakMap<object, string>();

export abstract class Jobable<P extends Payload = Payload> implements JobInstance<P> {
  static readonly [JOBABLE_BRAND] = true;
  /** Seconds an attempt may run before it is stopped and counted as failed (TimeoutError). */
  static timeout?: number;
  /** Total attempts, the first included. Overrides `--retries` and `max_retries`. */
  static tries?: number;
  /** Seconds before attempt 2, 3, ...: one number, or a list (the last repeats). */
  static backoff?: Backoff;
  /** Overrides the name derived from the class name (`SendEmail` → `send-email`). */
  static jobName?: string;
  /** Run around each attempt's run(), in order: rateLimited(...), concurrencyLimited(...), throttleExceptions(...), skipIf(...), or `(job, next) => ...`. */
  static middleware?: readonly JobMiddleware[];
  /** Seconds: at most one dispatch of a job with its overlap key (name, uniqueId(), queue) per window; the others are skipped. */
  static uniqueFor?: number;
  /** With `.withoutOverlapping()`: the key is held until the job finishes (default) or until it starts. */
  static uniqueUntil?: 'finished' | 'started';
  /** The group of a job with this payload (a tenant's id): a queue's free slots go round-robin among its groups. `.group()` overrides it. */
  static group?: (payload: any) => string | number | null | undefined;
  /** At most this many jobs of one group run at once, across every worker and host (kept at claim time). */
  static groupConcurrency?: number;
  /** At most `max` jobs of one group start per `per` seconds (kept at claim time). */
  static groupRate?: { max: number; per: number };

  static {
    contextOf = (job) => job.#context;
  }

  /** The payload the job was dispatched with. */
  readonly payload: P;
  /** The stored job's id ('' outside a worker). */
  readonly id: string;
  /** The queue the job was taken from. */
  readonly queue: string;
  /** The group it was dispatched in (`.group()`, `static group`), or null. */
  readonly group: string | null;
  /** This attempt's number, starting at 1. */
  readonly attempt: number;
  readonly #context: JobContext | undefined;
  #signal: AbortSignal | undefined;
  /** Set by onQueue()/delay(): where this instance goes in a chain or batch. */
  [DISPATCH_OPTIONS]?: DispatchOptions;

  constructor(payload: P, context?: JobContext) {
    this.payload = payload;
    this.id = context?.id ?? '';
    const { queue, group } = splitLane(context?.queue ?? 'default');
    this.queue = queue;
    this.group = group;
    this.attempt = context?.attempt ?? 0;
    this.#context = context;
  }

  /** Aborts at the job's timeout, or when the worker is forced to stop: pass it on to fetch, streams, timers. */
  get signal(): AbortSignal {
    return (this.#signal ??= this.#context?.signal ?? new AbortController().signal);
  }

  /** Reads a payload value (dot paths walk nested objects); `fallback` when it is absent. */
  get<K extends keyof P & string>(key: K, fallback: NonNullable<P[K]>): NonNullable<P[K]>;
  get<K extends keyof P & string>(key: K): P[K];
  get<T = unknown>(key: string, fallback?: T): T;
  get(key: string, fallback?: unknown): unknown {
    const value = readPath(this.payload, key);
    return value === undefined ? fallback : value;
  }

  /**
   * Holds the job back: once run() (or the middleware) returns, the attempt ends as released and
   * the job is due again in `seconds` (default 1; anything under 0.1, 0 and negative included,
   * counts as 0.1, so a job released over and over cannot spin), its attempt not counted.
   * It does not stop run(): write `return this.release(5)`, or the code after it still runs.
   * A released job comes back with the same `attempt` number. Outside a worker it does nothing.
   */
  release(seconds = RELEASE_DEFAULT_S): void {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) throw new RangeError(`release(${String(seconds)}): seconds must be a finite number`);
    const controls = controlsOfJob(this);
    const wait = Math.max(RELEASE_FLOOR_S, seconds);
    controls?.holdUntil(controls.clock.now() + wait * 1000, `released by the job for ${wait} s`);
  }

  /** Stores how far the job is (0-100, with an optional message), shown by `job:status --json` and the dashboard. */
  progress(percent: number, message?: string): Promise<void> {
    return reportProgress(controlsOfJob(this), percent, message);
  }

  /** In a chain or batch: puts this job on queue `name` (else the chain's or batch's queue). */
  onQueue(name: string): this {
    this[DISPATCH_OPTIONS] = { ...this[DISPATCH_OPTIONS], queue: name };
    return this;
  }

  /** In a chain or batch: puts this job in group `id` of its queue (a tenant; see `static group`). */
  onGroup(id: string | number): this {
    this[DISPATCH_OPTIONS] = { ...this[DISPATCH_OPTIONS], group: id };
    return this;
  }

  /** In a batch, or first in a chain: runs this job `seconds` after it is stored. */
  delay(seconds: number): this {
    this[DISPATCH_OPTIONS] = { ...this[DISPATCH_OPTIONS], delay: seconds };
    return this;
  }

  /** The batch this job (or batch callback) belongs to, read now; null outside a batch. */
  batch(): Promise<Batch | null> {
    return batchOfContext(this.#context);
  }

  /** Optional key for withoutOverlapping: jobs with the same key never overlap. */
  uniqueId?(): string | number;

  /** The job's work. Throw to fail the attempt. */
  abstract run(): unknown;

  /** Called once after the last attempt failed. */
  failed?(error: Error): unknown;

  /** The name this class is stored and discovered under. */
  static get nameOfJob(): string {
    if (Object.hasOwn(this, 'jobName') && this.jobName) return this.jobName;
    let name = kebabNames.get(this);
    if (name === undefined) kebabNames.set(this, (name = kebabCase(this.name)));
    return name;
  }

  /** Queues this job; chain `.onQueue()`, `.withoutOverlapping()`, `.delay()`; await for the result. */
  static dispatch<C extends JobClass<any>>(this: C, payload?: PayloadOf<C>, when?: When): PendingDispatch {
    return new PendingDispatch({ jobClass: this as unknown as JobClass }, (payload ?? {}) as Payload, when);
  }

  /** Queues this job to run at `when`. */
  static dispatchAt<C extends JobClass<any>>(this: C, when: When, payload?: PayloadOf<C>): PendingDispatch {
    return new PendingDispatch({ jobClass: this as unknown as JobClass }, (payload ?? {}) as Payload, when);
  }

  /** Queues one job per payload in one round trip or transaction; await for the results, in order. */
  static dispatchMany<C extends JobClass<any>>(this: C, payloads: readonly PayloadOf<C>[]): PendingBulkDispatch {
    return new PendingBulkDispatch({ jobClass: this as unknown as JobClass }, payloads as readonly Payload[]);
  }

  /** Alias of dispatchAt for code ported from PHP. */
  static dispatch_at<C extends JobClass<any>>(this: C, when: When, payload?: PayloadOf<C>): PendingDispatch {
    return new PendingDispatch({ jobClass: this as unknown as JobClass }, (payload ?? {}) as Payload, when);
  }
}

type PayloadOf<C> = C extends new (payload: infer P, ...rest: any[]) => unknown ? P : Payload;
