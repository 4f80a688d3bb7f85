/**
 * `SendEmail.dispatchMany([data, ...])` and `Job.dispatchMany(name, [...])`: many jobs of one
 * class stored in one `pushMany` (one round trip or transaction), with `.onQueue()`, `.delay()`
 * and `.withoutOverlapping()` as on a single dispatch (overlap keys hold per job, within the lot
 * too). A thenable: `await` gives one DispatchResult per payload, in order. Every payload is
 * checked before anything is stored; one log line for the lot.
 */
import { UsageError } from '../errors.ts';
import type { JobClass } from '../jobable.ts';
import { holding } from '../keep-alive.ts';
import { assertJobName, storedOverlapKey } from '../naming.ts';
import { assertPayloadSize, encodePayload, type Payload } from '../payload.ts';
import { uniqueIdOf, type DispatchResult } from '../pending-dispatch.ts';
import { runtime } from '../runtime.ts';
import { assertQueue, delayMs } from './job-spec.ts';

type Target = { jobClass: JobClass } | { name: string };

export class PendingBulkDispatch implements PromiseLike<DispatchResult[]> {
  private queueName = 'default';
  private overlapping = false;
  private delaySeconds = 0;
  private readonly encoded: string[] | Error;
  private readonly stored: Promise<DispatchResult[]>;

  constructor(private readonly target: Target, payloads: readonly Payload[]) {
    try {
      if (!Array.isArray(payloads)) throw new UsageError('dispatchMany() takes an array of payloads');
      this.encoded = payloads.map((payload) => encodePayload(payload));
    } catch (error) {
      this.encoded = error as Error;
    }
    this.stored = Promise.resolve().then(() => holding(() => this.store()));
  }

  onQueue(name: string): this {
    this.queueName = name;
    return this;
  }

  /** Skips each job while a job with its overlap key is pending or running (or comes earlier in the lot). */
  withoutOverlapping(): this {
    this.overlapping = true;
    return this;
  }

  delay(seconds: number): this {
    this.delaySeconds = seconds;
    return this;
  }

  then<A = DispatchResult[], B = never>(
    onfulfilled?: ((value: DispatchResult[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.stored.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<DispatchResult[] | B> {
    return this.stored.catch(onrejected);
  }

  private async store(): Promise<DispatchResult[]> {
    if (this.encoded instanceof Error) throw this.encoded;
    assertQueue(this.queueName);
    const delay = delayMs(this.delaySeconds);
    const rt = await runtime();
    let name: string;
    let jobClass: JobClass | null = null;
    if ('jobClass' in this.target) {
      jobClass = this.target.jobClass;
      name = jobClass.nameOfJob;
      rt.registry.remember(jobClass);
    } else {
      name = this.target.name;
      if (!rt.registry.resolve(name)) await rt.registry.discover();
      rt.registry.assertKnown(name);
      const handler = rt.registry.resolve(name);
      if (handler?.kind === 'class') jobClass = handler.jobClass;
    }
    assertJobName(name);
    for (const text of this.encoded) assertPayloadSize(text, rt.config.max_payload_bytes);
    const queue = this.queueName;
    const scheduledAt = rt.clock.now() + delay;
    const overlapKey = (text: string): string | null => {
      if (!this.overlapping) return null;
      const uniqueId = jobClass ? uniqueIdOf(jobClass, text) : null;
      return storedOverlapKey(`${name}${uniqueId === null ? '' : `#${uniqueId}`}@${queue}`);
    };
    const jobs = this.encoded.map((payload) => ({ name, queue, payload, scheduledAt, overlapKey: overlapKey(payload) }));
    const results = jobs.length === 0 ? [] : await rt.driver.pushMany(jobs);
    const at = new Date(scheduledAt);
    const out: DispatchResult[] = results.map((r) => r.skipped
      ? { skipped: 'overlapping', existingId: r.existingId, name, queue }
      : { id: r.id, name, queue, scheduledAt: at });
    const skipped = out.filter((r) => r.skipped).length;
    rt.logger.info({ job: name, queue, added: out.length - skipped, skipped }, `Jobs added: ${out.length - skipped} × ${name}${skipped ? ` (${skipped} skipped as overlapping)` : ''}`);
    return out;
  }
}
