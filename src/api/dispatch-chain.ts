/**
 * What a single dispatch (pending-dispatch.ts) and a bulk one (flows/bulk-dispatch.ts) share:
 * the options chained on them (`.onQueue()`, `.withoutOverlapping()`, `.delay()`), being a
 * thenable that stores once the synchronous chain is done (one microtask later) and keeps the
 * process alive meanwhile (keep-alive.ts), the app's transaction it is written in or waits for
 * (in-transaction.ts), and the checks and names every stored job goes through: its queue, its
 * delay, its name and class, its overlap key.
 */
import { UsageError, cutInput } from '../infra/errors.ts';
import type { JobClass } from './job-types.ts';
import { storing } from './dispatch-scope.ts';
import { QUEUE_NAME, assertJobName, storedOverlapKey } from '../infra/naming.ts';
import type { AppTransaction, QueuedAfterCommit } from './in-transaction.ts';
import type { Payload } from './payload.ts';
import type { Registry } from './registry.ts';
import { LANE_SEPARATOR, assertGroup, laneOf } from '../store/claims/lanes.ts';
import { declareLane, type LaneSettings } from '../store/claims/lane-limits.ts';

export type DispatchTarget = { jobClass: JobClass } | { name: string };

export abstract class DispatchChain<R> implements PromiseLike<R> {
  protected queueName = 'default';
  protected overlapping = false;
  protected delaySeconds = 0;
  /** Set by group(): the group of every job of this dispatch (else the class's `static group`). */
  protected groupId: string | number | undefined;
  /** Set by group(id, { weight }). */
  protected groupWeight: number | undefined;
  /** Set by withTransaction(): the app's transaction the job is written in. */
  protected transaction: AppTransaction | undefined;
  /** Set by afterCommit(): the transaction whose commit the job waits for. */
  protected commitOf: AppTransaction | undefined;
  private readonly stored: Promise<R>;

  constructor() {
    // The subclass's constructor has run by the time this microtask does.
    this.stored = Promise.resolve().then(() => storing(() => this.store()));
  }

  /** Checks and stores the job(s); every failure rejects the dispatch, never silently. */
  protected abstract store(): Promise<R>;

  /** Puts the job on queue `name` (default `default`). */
  onQueue(name: string): this {
    this.queueName = name;
    return this;
  }

  /** Skips the job while one with the same overlap key is pending or running. */
  withoutOverlapping(): this {
    this.overlapping = true;
    return this;
  }

  /**
   * Puts the job in group `id` of its queue (a tenant, a customer): workers give the queue's free
   * slots to its groups in turn, so one group's backlog does not hold back the others' jobs.
   */
  group(id: string | number, options: { weight?: number } = {}): this {
    this.groupId = id;
    this.groupWeight = options.weight;
    return this;
  }

  /** Runs the job `seconds` after its time (now, or the time given). */
  delay(seconds: number): this {
    this.delaySeconds = seconds;
    return this;
  }

  /**
   * Writes the job in the app's transaction `trx`, where the job store is the app's database: it
   * commits and rolls back with the app's rows. Elsewhere the dispatch rejects, saying so.
   */
  withTransaction(trx: AppTransaction): this {
    this.transaction = trx;
    return this;
  }

  /**
   * Stores the job once `trx` commits (a knex transaction, or an AfterCommit the app commits),
   * and never if it rolls back; resolves at once. Kept in memory meanwhile: lost if the process
   * dies between the commit and the dispatch. Last in the chain.
   */
  afterCommit(trx: AppTransaction): PromiseLike<QueuedAfterCommit> {
    this.commitOf = trx;
    return this as unknown as PromiseLike<QueuedAfterCommit>;
  }

  /** Refuses both ways at once. */
  protected assertOneWay(): void {
    if (this.transaction !== undefined && this.commitOf !== undefined) throw new UsageError('Use withTransaction() or afterCommit(), not both');
  }

  then<A = R, B = never>(onfulfilled?: ((value: R) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.stored.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<R | B> {
    return this.stored.catch(onrejected);
  }
}

export function assertQueue(queue: string): void {
  if (!QUEUE_NAME.test(queue)) throw new UsageError(`Bad queue name "${cutInput(queue)}": start with a letter or digit, then letters, digits and . _ : - (at most 64)`);
}

/**
 * Where a job is stored: its queue, or its group's lane of it (store/claims/lanes.ts). The group is the
 * one given, else what the class's `static group` says of the payload (decoded only then).
 */
export function laneFor(queue: string, jobClass: JobClass | null, encoded: string, given: string | number | undefined): string {
  if (given !== undefined) return laneOf(queue, assertGroup(given, queue, '.group()'));
  if (typeof jobClass?.group !== 'function') return queue;
  const group = jobClass.group(JSON.parse(encoded) as Payload);
  return group === null || group === undefined ? queue : laneOf(queue, assertGroup(group, queue, `${jobClass.name}.group()`));
}

/** Whether a dispatch of this class (with this weight) has group limits to declare: checked before any await. */
export function hasLimits(jobClass: JobClass | null, weight: number | undefined): boolean {
  return weight !== undefined || jobClass?.groupConcurrency !== undefined || jobClass?.groupRate !== undefined;
}

/**
 * Declares the limits of the lane a job goes to (store/claims/lane-limits.ts), when its class sets
 * any or the dispatch gives a weight (`hasLimits`), once per process and lane.
 */
export async function declareLimits(records: Parameters<typeof declareLane>[0], lane: string, jobClass: JobClass | null, weight: number | undefined, now: number): Promise<void> {
  if (!lane.includes(LANE_SEPARATOR)) return;
  const concurrency = jobClass?.groupConcurrency;
  const rate = jobClass?.groupRate;
  if (concurrency === undefined && rate === undefined && weight === undefined) return;
  const settings: LaneSettings = {};
  if (concurrency !== undefined) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`${jobClass!.name}.groupConcurrency must be a whole number ≥ 1, got ${String(concurrency)}`);
    settings.concurrency = concurrency;
  }
  if (rate !== undefined) {
    if (!Number.isInteger(rate?.max) || rate.max < 1 || !(rate.per > 0)) throw new UsageError(`${jobClass!.name}.groupRate must be { max: whole number ≥ 1, per: seconds > 0 }`);
    settings.rate = { max: rate.max, perMs: Math.round(rate.per * 1000) };
  }
  if (weight !== undefined) {
    if (!Number.isInteger(weight) || weight < 1 || weight > 100) throw new UsageError(`A group's weight must be a whole number from 1 to 100, got ${String(weight)}`);
    settings.weight = weight;
  }
  await declareLane(records, lane, settings, now);
}

export function delayMs(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`Bad delay ${String(seconds)}: give .delay() a number of seconds ≥ 0`);
  return Math.round(seconds * 1000);
}

/** The name a dispatch stores and its class (null for a name only listeners handle); an unknown name throws. */
export async function resolveTarget(registry: Registry, target: DispatchTarget): Promise<{ name: string; jobClass: JobClass | null }> {
  let name: string;
  let jobClass: JobClass | null = null;
  if ('jobClass' in target) {
    jobClass = target.jobClass;
    name = jobClass.nameOfJob;
    registry.remember(jobClass);
  } else {
    name = target.name;
    if (!registry.resolve(name)) await registry.discover();
    registry.assertKnown(name);
    const handler = registry.resolve(name);
    if (handler?.kind === 'class') jobClass = handler.jobClass;
  }
  assertJobName(name);
  return { name, jobClass };
}

/** The overlap key of job `name` on `queue` with this payload text: per queue in every driver, so Redis Cluster checks and stores it in one slot. */
export function overlapKeyOf(name: string, jobClass: JobClass | null, encoded: string, queue: string): string {
  const uniqueId = jobClass ? uniqueIdOf(jobClass, encoded) : null;
  return storedOverlapKey(`${name}${uniqueId === null ? '' : `#${uniqueId}`}@${queue}`);
}

/** The class's uniqueId() over the payload snapshot, or null when the class has none. */
function uniqueIdOf(jobClass: JobClass, encoded: string): string | null {
  const probe = new jobClass(JSON.parse(encoded) as Payload);
  if (typeof probe.uniqueId !== 'function') return null;
  const id = probe.uniqueId();
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new UsageError(`${jobClass.name}.uniqueId() must return a string or number, got ${typeof id}`);
  }
  return String(id);
}
