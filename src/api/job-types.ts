/**
 * What a job is to the code around it, as types only: the context an attempt gives it, the job
 * object (what run(), middleware and hooks see), the job class (its settings and its stored
 * name) and a middleware. `Jobable` (jobable.ts) implements them; the dispatch, flows, registry,
 * worker and middleware modules name these, not `Jobable`, so none of them imports the class
 * whose static methods import them.
 */
import type { Backoff } from '../infra/backoff.ts';
import type { Payload } from './payload.ts';

/** What the worker tells a job about the attempt it is running. */
export interface JobContext {
  /** The stored job's id. */
  id: string;
  /** The queue it was taken from. */
  queue: string;
  /** This attempt's number, starting at 1. */
  attempt: number;
  /** Aborts when the job runs past its timeout or the worker is forced to stop. */
  signal: AbortSignal;
}

/** A job object: an instance of a class that extends `Jobable`. */
export interface JobInstance<P extends Payload = Payload> {
  readonly payload: P;
  readonly id: string;
  readonly queue: string;
  readonly attempt: number;
  readonly signal: AbortSignal;
  get<K extends keyof P & string>(key: K, fallback: NonNullable<P[K]>): NonNullable<P[K]>;
  get<K extends keyof P & string>(key: K): P[K];
  get<T = unknown>(key: string, fallback?: T): T;
  release(seconds?: number): void;
  progress(percent: number, message?: string): Promise<void>;
  uniqueId?(): string | number;
  run(): unknown;
  failed?(error: Error): unknown;
}

/** Goes on to the next middleware, then the job's run(); resolves with what it returned. */
export type Next = () => Promise<unknown>;

/** A job middleware: `job` is the job object (payload, id, queue, attempt, release(), progress()). */
export type JobMiddleware = (job: JobInstance<any>, next: Next) => unknown;

/** A job class: a class that extends `Jobable`, with its per-class settings. */
export interface JobClass<P extends Payload = any> {
  new (payload: P, context?: JobContext): JobInstance<P>;
  readonly name: string;
  /** The name this class is stored and discovered under. */
  readonly nameOfJob: string;
  timeout?: number;
  tries?: number;
  backoff?: Backoff;
  jobName?: string;
  middleware?: readonly JobMiddleware[];
  uniqueFor?: number;
  uniqueUntil?: 'finished' | 'started';
  /** The group (tenant) of a job with this payload: workers share the queue's slots round-robin among groups. */
  group?: (payload: P) => string | number | null | undefined;
  /** At most this many jobs of one group run at once, across every worker and host. */
  groupConcurrency?: number;
  /** At most `max` jobs of one group start per `per` seconds. */
  groupRate?: { max: number; per: number };
}
