/**
 * The store contract. A backend (database, redis, file, memcached) is three parts, each native to
 * its store, 25 methods in all (`Backend`):
 * - the queue (`QueuePart`): `Driver`, the worker's eight methods, and `pushMany` (`BulkQueue`);
 *   its speed features (`BatchingQueue`, `WakingQueue`) are optional;
 * - the browser (`BrowserPart`): pending jobs, the failed store, clearing, overlap locks, for
 *   operators (admin-store.ts);
 * - the records (`RecordStore`, record-store.ts): get, compare-and-set with a time to live,
 *   delete, list.
 * Paused queues, the restart signal, the worker registry, metrics and `job:retry` are built once
 * over the records and the browser (store-services.ts); `FullDriver` is a backend with them, what the
 * runtime holds. Which queue a claim takes from is decided in claims/queue-policy.ts, once for every driver.
 *
 * Guarantees every driver keeps:
 * - `push` with an overlap key is check-and-store in one atomic step.
 * - `reserve` claims atomically: each returned job carries a fresh claim token and a lease
 *   (`reservedUntil`); its attempt counter is incremented and persisted at claim time.
 *   A job whose lease lapsed is due again.
 * - `ack`, `release` and `fail` act only while the caller's token still holds the job; they
 *   return false (and change nothing) when another claim has taken it since.
 * - `fail` moves the job to the failed store in one step (one transaction where the store has
 *   them), which also frees its overlap key.
 * - A claim made for an `owner` carries it in its token (`claimToken`); `releaseOwned` gives
 *   back every job still held under it, each in one token-checked step.
 */
import type { BrowsableQueue, LockBrowser, MetricsStore, PausableQueue, WorkerRegistry } from './admin-store.ts';
import type { FailedStore, RetryResult } from './failed/failed-store.ts';

export type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, Requeued, RetryResult } from './failed/failed-store.ts';
import type { Logger } from '../infra/logger.ts';
import type { RecordStore } from './record-store.ts';

/** A job as dispatch hands it to the driver. */
export interface NewJob {
  /** Job name: a class's kebab-case name or a legacy listener's name. */
  name: string;
  /** Queue name, `default` unless the dispatch chose one. */
  queue: string;
  /** The payload, already validated and encoded as JSON text. */
  payload: string;
  /** Epoch ms from which the job may run. */
  scheduledAt: number;
  /** Set for withoutOverlapping: at most one pending or running job holds a key. */
  overlapKey: string | null;
}

export type PushResult =
  | { id: string; skipped?: undefined }
  | { skipped: 'overlapping'; existingId: string | null; id?: undefined };

/** A job a worker holds under a lease. */
export interface ReservedJob {
  id: string;
  name: string;
  queue: string;
  /** Stored payload text, decoded by the worker (a corrupt one fails the job, not the worker). */
  payload: string;
  /** Attempts so far, this one included. */
  attempts: number;
  /** When the job was due (epoch ms). */
  scheduledAt: number;
  /** When the job was first stored (epoch ms). */
  createdAt: number;
  overlapKey: string | null;
  /** The claim token: proof that this worker still holds the job. */
  token: string;
  /** Lease end (epoch ms); after it the job is due again for any worker. */
  reservedUntil: number;
}

/** Leases, per job name: the job's timeout plus grace, in ms. */
export interface Leases {
  byName: Readonly<Record<string, number>>;
  defaultMs: number;
}

/** The lease of a job of this name (own keys only: a job named `constructor` gets the default). */
export function leaseFor(leases: Leases, name: string): number {
  return Object.hasOwn(leases.byName, name) ? leases.byName[name]! : leases.defaultMs;
}

export interface ReserveRequest {
  /** Strict priority order; null takes from every queue, oldest due first. */
  queues: readonly string[] | null;
  /** With `queues`: each one's weight (`--queue=high:6,default:3`); then it is weighted, not strict. */
  weights?: readonly number[] | null;
  /** Only jobs with these names (`rakit job:run <name...>`); null for all. */
  names: readonly string[] | null;
  /** At most this many jobs (the worker's free slots). */
  limit: number;
  /** Paused queues (admin-store.ts): nothing is claimed from them, whether `queues` names them or not. */
  paused?: readonly string[];
  leases: Leases;
  /** Where a claim reports what it could not undo (an extra job it could not give back). */
  logger?: Pick<Logger, 'warn'>;
  /** Who claims (a worker process of a manager): its jobs can be given back by `releaseOwned` if it dies. */
  owner?: string;
}

/** A claim's token: `<owner>-<random>` for a claim made for an owner, so `releaseOwned` finds its jobs. */
export function claimToken(owner: string | undefined, random: string): string {
  return owner ? `${owner}-${random}` : random;
}

/** Whether a claim token was made for `owner`. */
export function ownedBy(token: string, owner: string): boolean {
  return token.startsWith(`${owner}-`);
}

export interface ReleaseOptions {
  /** Epoch ms from which the job is due again (now + backoff for a retry). */
  at: number;
  /** False when the attempt never started (shutdown): the claim's attempt is given back. */
  countAttempt: boolean;
}

/** What the failed store keeps about a final failure. */
export interface Failure {
  /** `ErrorClass: message` followed by the stack. */
  exception: string;
}

export interface QueueStats {
  queue: string;
  ready: number;
  scheduled: number;
  reserved: number;
  failed: number;
}

export interface Driver {
  /** The driver's name as configured (`database`, `redis`, ...), with the server for messages. */
  readonly description: string;
  /** What a user must know before trusting this driver (said once when a worker starts). */
  readonly warning?: string;
  push(job: NewJob): Promise<PushResult>;
  /** Claims up to `request.limit` due jobs in the order of claims/queue-policy.ts. */
  reserve(request: ReserveRequest): Promise<ReservedJob[]>;
  ack(job: ReservedJob): Promise<boolean>;
  release(job: ReservedJob, options: ReleaseOptions): Promise<boolean>;
  fail(job: ReservedJob, failure: Failure): Promise<boolean>;
  /**
   * Gives back every job still reserved under claims made for `owner` (its process died before
   * it started them): each in one atomic step that checks the token, due at its due time, its
   * claim's attempt given back. Resolves with how many.
   */
  releaseOwned(owner: string): Promise<number>;
  stats(): Promise<QueueStats[]>;
  /** Whether a job is due now on one of `queues` (null: any): a cron run's look at an empty queue. */
  hasDue(queues: readonly string[] | null): Promise<boolean>;
  close(): Promise<void>;
}

/** A driver that sends the acks of a batch in fewer round trips than one per job. */
export interface BatchingQueue {
  /** `ack` of several jobs in one step (one round trip, one transaction); the results in order. */
  ackMany(jobs: readonly ReservedJob[]): Promise<boolean[]>;
  /**
   * `reserve` with the acks sent in the same turn: carried by the claim's own step where the store
   * can (on Redis, a queue's acks ride on the claim from that queue), else beside it. `held[i]` is
   * as `ackMany` would say it, or undefined for an ack it did not carry, which the caller still has
   * to send. When it throws, the caller cannot know which acks were recorded and sends them all again.
   */
  reserveAfterAcks(acks: readonly ReservedJob[], request: ReserveRequest): Promise<{ claimed: ReservedJob[]; held: (boolean | undefined)[] }>;
}

/** Drops pending (not running) jobs, of one queue or all; returns how many. */
export interface ClearableQueue {
  clear(queue: string | null): Promise<number>;
}

/** A driver that can wake an idle worker when a job arrives, instead of letting it sleep. */
export interface WakingQueue {
  /** Resolves when a job may have arrived on one of `queues`, after `ms` at most, or on abort. */
  waitForJob(queues: readonly string[] | null, ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * The deploy signal behind `rakit job:restart`: a time kept in the store's records, so every
 * worker on every host sharing the store sees it. A worker exits after its running jobs once the stored
 * time differs from the one it saw when it started.
 */
export interface RestartSignal {
  /** The time of the last `job:restart` (epoch ms), or null if there was none. */
  restartRequestedAt(): Promise<number | null>;
  requestRestart(at: number): Promise<void>;
}

/** Many jobs at once. */
export interface BulkQueue {
  /**
   * Stores the jobs in one round trip or one transaction where the store has them (Redis Cluster:
   * one per slot), and returns one result per job, in order. Overlap keys hold per job, within
   * the call too: of two jobs with one key, the second is skipped. Either every job that is not
   * skipped is stored or the call throws having stored none (where the store has transactions;
   * elsewhere the error names how many were stored).
   */
  pushMany(jobs: readonly NewJob[]): Promise<PushResult[]>;
}

/** `job:retry`: failed jobs put back on their queue, unless a pending or running job holds their overlap key. */
export interface FailedRetry {
  retryFailed(ids: readonly string[]): Promise<RetryResult>;
}

/**
 * Writing in an app's own transaction (`.withTransaction(trx)`), where the store can be the app's
 * SQL database (the `database` driver): a dispatch's jobs, a chain's held jobs and a batch's
 * record go through the app's connection and commit or roll back with its rows.
 */
export interface InTransactionQueue {
  readonly transactions: TransactionalStore;
}

export interface TransactionalStore {
  /**
   * A writer over `trx`: a knex transaction, a `pg` client or `mysql2` connection inside a
   * transaction, a better-sqlite3 database inside BEGIN, or a SqlExecute. Rejects with a
   * UsageError when `trx` is none of these, or cannot see this store's tables.
   */
  writerFor(trx: unknown): Promise<TransactionWriter>;
}

/**
 * Runs one statement on the app's connection, inside its transaction (an ORM's one-function
 * adapter): `sql` has the placeholders of the database's own client (`$1` on PostgreSQL, `?` on
 * MySQL/MariaDB and SQLite), `params` their values. Resolves with the rows (an array of objects,
 * or an object with `rows`); for a statement that returns none, with anything.
 */
export type SqlExecute = (sql: string, params: unknown[]) => Promise<unknown>;

/** What a dispatch writes through an app's transaction. */
export interface TransactionWriter {
  push(job: NewJob): Promise<PushResult>;
  /** As `pushMany`, in the app's transaction: its commit stores them all, its rollback none. */
  pushMany(jobs: readonly NewJob[]): Promise<PushResult[]>;
  /** Creates a record (`version` must be null); false when one of that id is there, expired or not. */
  casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean>;
}

/** The queue part: what the worker needs (nine methods), its optional features. */
export type QueuePart = Driver & BulkQueue & Partial<WakingQueue> & Partial<BatchingQueue> & Partial<InTransactionQueue>;

/** The browser part: what operators see and change (twelve methods). */
export type BrowserPart = BrowsableQueue & FailedStore & ClearableQueue & LockBrowser;

/** What a backend writes: the queue, the browser and the records (four methods), 25 in all. */
export type Backend = QueuePart & BrowserPart & RecordStore;

/** The services built once over a backend's records (store-services.ts), for every backend alike. */
export type StoreServices = PausableQueue & WorkerRegistry & MetricsStore & RestartSignal & FailedRetry;

/** A driver as the runtime holds it: a backend with the services over its records. */
export type FullDriver = Backend & StoreServices;

/** The same (the dashboard's name for it). */
export type AdminDriver = FullDriver;
