/**
 * A dispatch in the making: `.onQueue()`, `.withoutOverlapping()` and `.delay()` chain on it,
 * and the job is stored once the synchronous chain is done (one microtask later), as the PHP
 * chain did. It is a thenable: `await` gives the stored job or the overlap skip. Nothing is
 * stored when validation fails; every failure rejects it — never silently. While it is being
 * stored it keeps the process alive (keep-alive.ts); afterwards nothing of rakit does. It may be
 * written in the app's transaction, or wait for its commit (in-transaction.ts). When the app
 * traces, it is stored in a dispatch span whose context it carries (flows/traced.ts).
 */
import type { NewJob, TransactionWriter } from '../store/driver.ts';
import { holding } from '../infra/keep-alive.ts';
import { DispatchChain, assertQueue, declareLimits, hasLimits, delayMs, laneFor, overlapKeyOf, resolveTarget, type DispatchTarget } from './dispatch-chain.ts';
import { splitLane } from '../store/claims/lanes.ts';
import { whenCommitted, writerIn } from './in-transaction.ts';
import { assertPayloadLimits, encodePayload, type Payload } from './payload.ts';
import { runtime, type Runtime } from './runtime.ts';
import type { When } from '../infra/when.ts';
import { UsageError } from '../infra/errors.ts';
import type { JobClass } from './job-types.ts';
import { addToFlow } from '../flows/envelope.ts';
import { storeInWindow, type DedupWindow } from '../flows/dedup.ts';
import { tracing } from '../infra/tracing.ts';
import { traceDispatch, withTrace } from '../flows/traced.ts';

/**
 * What a dispatch did. `outcome`: `stored`; `replaced` (a debounced job took the place of a
 * pending one); `skipped`: nothing stored, because a job with its overlap key is pending or
 * running (`overlapping`) or one was already dispatched in its window (`throttled`).
 */
export type DispatchResult =
  | { outcome: 'stored' | 'replaced'; id: string; name: string; queue: string; group?: string; scheduledAt: Date; skipped?: undefined }
  | { outcome: 'skipped'; skipped: 'overlapping' | 'throttled'; existingId: string | null; name: string; queue: string; group?: string; id?: undefined; scheduledAt?: undefined };

export class PendingDispatch extends DispatchChain<DispatchResult> {
  private readonly encoded: string | Error;
  private window: DedupWindow | null = null;

  constructor(private readonly target: DispatchTarget, payload: Payload, private readonly when?: When) {
    super();
    // Encode now: later changes to the caller's object must not change the stored job.
    try {
      this.encoded = encodePayload(payload);
    } catch (error) {
      this.encoded = error as Error;
    }
  }

  on_queue(name: string): this {
    return this.onQueue(name);
  }

  without_overlapping(): this {
    return this.withoutOverlapping();
  }

  /**
   * Of a burst of dispatches with `key`, runs the last once: the job is due `ms` from now, and a
   * pending job this key named before is cancelled (`outcome: 'replaced'`).
   */
  debounce(key: string, ms: number): this {
    this.window = { kind: 'debounce', key: assertWindow('debounce', key, ms), ms };
    return this;
  }

  /** At most one dispatch with `key` per `ms`: the others store nothing (`skipped: 'throttled'`, with the id stored in the window). */
  throttle(key: string, ms: number): this {
    this.window = { kind: 'throttle', key: assertWindow('throttle', key, ms), ms };
    return this;
  }

  protected async store(): Promise<DispatchResult> {
    if (this.encoded instanceof Error) throw this.encoded;
    this.assertOneWay();
    assertQueue(this.queueName);
    const delay = delayMs(this.delaySeconds);
    const rt = await runtime();
    const { name, jobClass } = await resolveTarget(rt.registry, this.target);
    assertPayloadLimits(this.encoded, rt.config);
    const now = rt.clock.now();
    // The date library loads with the first dispatch that names a time, not with every worker.
    const base = this.when === undefined ? now : Math.max(now, (await import('../infra/when.ts')).parseWhen(this.when, rt.config.timezone));
    const scheduledAt = base + delay;
    const queue = laneFor(this.queueName, jobClass, this.encoded, this.groupId);
    // No await at all for a dispatch without group limits: a feature costs nothing until used.
    if (hasLimits(jobClass, this.groupWeight)) await declareLimits(rt.driver, queue, jobClass, this.groupWeight, now);
    const overlapKey = this.overlapping ? overlapKeyOf(name, jobClass, this.encoded, queue) : null;
    const unlock = overlapKey !== null && jobClass?.uniqueUntil === 'started';
    const job: NewJob = { name, queue, payload: unlock ? addToFlow({ unlock: 'started' }, this.encoded) : this.encoded, scheduledAt, overlapKey };
    // Traced (the app registered an OpenTelemetry SDK): stored in a dispatch span, with its context.
    const traced = tracing();
    if (!traced) return this.place(rt, job, jobClass);
    return traceDispatch(traced, name, queue, (carrier) => this.place(rt, { ...job, payload: withTrace(carrier, job.payload) }, jobClass), (r) => [r.id ?? null]);
  }

  /** Stores the job: in its dedup window, after the app's commit, in the app's transaction, or on the store. */
  private async place(rt: Runtime, job: NewJob, jobClass: JobClass | null): Promise<DispatchResult> {
    const { name, queue } = job;
    const window = this.window ?? uniqueForWindow(name, jobClass, this.encoded as string, queue);
    if (window) {
      if (this.transaction !== undefined || this.commitOf !== undefined) throw new UsageError(`A ${window.kind} window cannot be kept in the app's transaction: dispatch ${name} after the commit`);
      const stored = await storeInWindow(rt.driver, window, job, () => rt.clock.now(), (windowed) => rt.driver.push(windowed));
      if (stored.outcome === 'skipped') return skippedResult(rt, job, stored.why, stored.existingId);
      return { outcome: stored.outcome, id: stored.id, name, ...queueAndGroup(queue), scheduledAt: new Date(stored.scheduledAt) };
    }
    if (this.commitOf !== undefined) {
      whenCommitted(this.commitOf, () => holding(() => pushJob(rt, rt.driver, job)), rt.logger, `a ${name} job`);
      return { afterCommit: true, name, queue, jobs: 1 } as never;
    }
    return pushJob(rt, this.transaction === undefined ? rt.driver : await writerIn(rt, this.transaction), job);
  }
}

/** Stores the job (on the store, or in the app's transaction) and says how it went. */
async function pushJob(rt: Runtime, store: Pick<TransactionWriter, 'push'>, job: NewJob): Promise<DispatchResult> {
  const { name, queue, scheduledAt } = job;
  const result = await store.push(job);
  if (result.skipped) return skippedResult(rt, job, 'overlapping', result.existingId);
  // Debug: an app that dispatches on every request would write a line per request at info.
  // Only when logged: a dispatch loop pays for no date string or log object.
  if (rt.logger.isLevelEnabled('debug')) {
    rt.logger.debug({ id: result.id, job: name, queue, scheduledAt: new Date(scheduledAt).toISOString() }, `Job added: ${name}`);
  }
  return { outcome: 'stored', id: result.id, name, ...queueAndGroup(queue), scheduledAt: new Date(scheduledAt) };
}

function skippedResult(rt: Runtime, { name, queue }: NewJob, why: 'overlapping' | 'throttled', existingId: string | null): DispatchResult {
  rt.logger.info({ job: name, queue, existingId }, why === 'overlapping' ? `Job skipped: ${name} is already pending or running` : `Job skipped: ${name} was already dispatched in its window`);
  return { outcome: 'skipped', skipped: why, existingId, name, ...queueAndGroup(queue) };
}

/** A result's queue, and its group when the job is in one (a lane, store/claims/lanes.ts). */
export function queueAndGroup(lane: string): { queue: string; group?: string } {
  const { queue, group } = splitLane(lane);
  return group === null ? { queue } : { queue, group };
}

/** The class's `uniqueFor` as a throttle window over its overlap key. */
function uniqueForWindow(name: string, jobClass: JobClass | null, encoded: string, queue: string): DedupWindow | null {
  const seconds = jobClass?.uniqueFor;
  if (seconds === undefined) return null;
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new UsageError(`${jobClass!.name}.uniqueFor must be a number of seconds > 0, got ${String(seconds)}`);
  return { kind: 'throttle', key: overlapKeyOf(name, jobClass, encoded, queue), ms: Math.round(seconds * 1000) };
}

function assertWindow(kind: string, key: string, ms: number): string {
  if (typeof key !== 'string' || key.length === 0) throw new UsageError(`.${kind}() needs a key: a non-empty string`);
  if (!(ms > 0) || !Number.isFinite(ms)) throw new UsageError(`Bad .${kind}() window ${String(ms)}: give a number of milliseconds > 0`);
  return key;
}
