/**
 * `SendEmail.dispatchMany([data, ...])` and `Job.dispatchMany(name, [...])`: many jobs of one
 * class stored in one `pushMany` (one round trip or transaction), with `.onQueue()`, `.delay()`
 * and `.withoutOverlapping()` as on a single dispatch (overlap keys hold per job, within the lot
 * too). A thenable: `await` gives one DispatchResult per payload, in order. Every payload is
 * checked before anything is stored; one log line (and, traced, one dispatch span) for the lot.
 */
import { DispatchChain, assertQueue, declareLimits, hasLimits, delayMs, laneFor, overlapKeyOf, resolveTarget, type DispatchTarget } from '../api/dispatch-chain.ts';
import { UsageError } from '../infra/errors.ts';
import { assertPayloadLimits, encodePayload, type Payload } from '../api/payload.ts';
import { whenCommitted, writerIn } from '../api/in-transaction.ts';
import { queueAndGroup, type DispatchResult } from '../api/pending-dispatch.ts';
import { runtime, type Runtime } from '../api/runtime.ts';
import { holding } from '../infra/keep-alive.ts';
import type { NewJob, TransactionWriter } from '../store/driver.ts';
import { tracing, type TraceCarrier } from '../infra/tracing.ts';
import { traceDispatch, withTrace } from './traced.ts';

export class PendingBulkDispatch extends DispatchChain<DispatchResult[]> {
  private readonly encoded: string[] | Error;

  constructor(private readonly target: DispatchTarget, payloads: readonly Payload[]) {
    super();
    try {
      if (!Array.isArray(payloads)) throw new UsageError('dispatchMany() takes an array of payloads');
      this.encoded = payloads.map((payload, i) => atIndex(i, () => encodePayload(payload)));
    } catch (error) {
      this.encoded = error as Error;
    }
  }

  protected async store(): Promise<DispatchResult[]> {
    if (this.encoded instanceof Error) throw this.encoded;
    this.assertOneWay();
    assertQueue(this.queueName);
    const delay = delayMs(this.delaySeconds);
    const rt = await runtime();
    const { name, jobClass } = await resolveTarget(rt.registry, this.target);
    this.encoded.forEach((text, i) => atIndex(i, () => assertPayloadLimits(text, rt.config)));
    const queue = this.queueName;
    const scheduledAt = rt.clock.now() + delay;
    const jobs = this.encoded.map((payload, i) => {
      const lane = atIndex(i, () => laneFor(queue, jobClass, payload, this.groupId));
      return { name, queue: lane, payload, scheduledAt, overlapKey: this.overlapping ? overlapKeyOf(name, jobClass, payload, lane) : null };
    });
    if (hasLimits(jobClass, this.groupWeight)) for (const lane of new Set(jobs.map((job) => job.queue))) await declareLimits(rt.driver, lane, jobClass, this.groupWeight, scheduledAt - delay);
    if (this.commitOf !== undefined) {
      if (jobs.length > 0) whenCommitted(this.commitOf, () => holding(() => pushJobs(rt, rt.driver, jobs, { name, queue, scheduledAt })), rt.logger, `${jobs.length} ${name} jobs`);
      return { afterCommit: true, name, queue, jobs: jobs.length } as never;
    }
    return pushJobs(rt, this.transaction === undefined ? rt.driver : await writerIn(rt, this.transaction), jobs, { name, queue, scheduledAt });
  }
}

/** Stores the jobs of one name and queue (on the store, or in the app's transaction); one log line. */
async function pushJobs(rt: Runtime, store: Pick<TransactionWriter, 'pushMany'>, jobs: NewJob[], lot: { name: string; queue: string; scheduledAt: number }): Promise<DispatchResult[]> {
  const traced = jobs.length > 0 ? tracing() : null;
  if (!traced) return pushUntraced(rt, store, jobs, lot);
  const traceIn = (carrier: TraceCarrier | null) => jobs.map((job) => ({ ...job, payload: withTrace(carrier, job.payload) }));
  return traceDispatch(traced, lot.name, lot.queue, (carrier) => pushUntraced(rt, store, traceIn(carrier), lot), (out) => out.map((r) => r.id ?? null));
}

async function pushUntraced(rt: Runtime, store: Pick<TransactionWriter, 'pushMany'>, jobs: NewJob[], { name, queue, scheduledAt }: { name: string; queue: string; scheduledAt: number }): Promise<DispatchResult[]> {
  const results = jobs.length === 0 ? [] : await store.pushMany(jobs);
  const at = new Date(scheduledAt);
  const grouped = jobs.some((job) => job.queue !== queue);
  const out: DispatchResult[] = results.map((r, i) => {
    const where = grouped ? queueAndGroup(jobs[i]!.queue) : { queue };
    return r.skipped ? { outcome: 'skipped', skipped: 'overlapping', existingId: r.existingId, name, ...where } : { outcome: 'stored', id: r.id, name, ...where, scheduledAt: at };
  });
  const skipped = out.filter((r) => r.skipped).length;
  rt.logger.info({ job: name, queue, added: out.length - skipped, skipped }, `Jobs added: ${out.length - skipped} × ${name}${skipped ? ` (${skipped} skipped as overlapping)` : ''}`);
  return out;
}

/** `fn()`, its error naming the payload at fault: `dispatchMany() payload [3]: ...`. */
function atIndex<T>(i: number, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof Error) error.message = `dispatchMany() payload [${i}]: ${error.message}`;
    throw error;
  }
}
