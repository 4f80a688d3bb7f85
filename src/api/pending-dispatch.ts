/**
 * A dispatch in the making: `.onQueue()`, `.withoutOverlapping()` and `.delay()` chain on it,
 * and the job is stored once the synchronous chain is done (one microtask later), as the PHP
 * chain did. It is a thenable: `await` gives the stored job or the overlap skip. Nothing is
 * stored when validation fails; every failure rejects it — never silently. While it is being
 * stored it keeps the process alive (keep-alive.ts); afterwards nothing of rakit does. It may be
 * written in the app's transaction, or wait for its commit (in-transaction.ts).
 */
import type { NewJob, TransactionWriter } from '../store/driver.ts';
import { holding } from '../infra/keep-alive.ts';
import { DispatchChain, assertQueue, delayMs, overlapKeyOf, resolveTarget, type DispatchTarget } from './dispatch-chain.ts';
import { whenCommitted, writerIn } from './in-transaction.ts';
import { assertPayloadLimits, encodePayload, type Payload } from './payload.ts';
import { runtime, type Runtime } from './runtime.ts';
import type { When } from '../infra/when.ts';

export type DispatchResult =
  | { id: string; name: string; queue: string; scheduledAt: Date; skipped?: undefined }
  | { skipped: 'overlapping'; existingId: string | null; name: string; queue: string; id?: undefined; scheduledAt?: undefined };

export class PendingDispatch extends DispatchChain<DispatchResult> {
  private readonly encoded: string | Error;

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
    const queue = this.queueName;
    const overlapKey = this.overlapping ? overlapKeyOf(name, jobClass, this.encoded, queue) : null;
    const job: NewJob = { name, queue, payload: this.encoded, scheduledAt, overlapKey };
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
  if (result.skipped) {
    rt.logger.info({ job: name, queue, existingId: result.existingId }, `Job skipped: ${name} is already pending or running`);
    return { skipped: 'overlapping', existingId: result.existingId, name, queue };
  }
  // Debug: an app that dispatches on every request would write a line per request at info.
  // Only when logged: a dispatch loop pays for no date string or log object.
  if (rt.logger.isLevelEnabled('debug')) {
    rt.logger.debug({ id: result.id, job: name, queue, scheduledAt: new Date(scheduledAt).toISOString() }, `Job added: ${name}`);
  }
  return { id: result.id, name, queue, scheduledAt: new Date(scheduledAt) };
}
