/**
 * A dispatch in the making: `.onQueue()`, `.withoutOverlapping()` and `.delay()` chain on it,
 * and the job is stored once the synchronous chain is done (one microtask later), as the PHP
 * chain did. It is a thenable: `await` gives the stored job or the overlap skip. Nothing is
 * stored when validation fails; every failure rejects it — never silently. While it is being
 * stored it keeps the process alive (keep-alive.ts); afterwards nothing of rakit does.
 */
import { UsageError } from './errors.ts';
import { holding } from './keep-alive.ts';
import { QUEUE_NAME, assertJobName, storedOverlapKey } from './naming.ts';
import type { JobClass } from './jobable.ts';
import { assertPayloadSize, encodePayload, type Payload } from './payload.ts';
import { runtime } from './runtime.ts';
import type { When } from './when.ts';

export type DispatchResult =
  | { id: string; name: string; queue: string; scheduledAt: Date; skipped?: undefined }
  | { skipped: 'overlapping'; existingId: string | null; name: string; queue: string; id?: undefined; scheduledAt?: undefined };

type Target = { jobClass: JobClass } | { name: string };


export class PendingDispatch implements PromiseLike<DispatchResult> {
  private queueName = 'default';
  private overlapping = false;
  private delaySeconds = 0;
  private readonly encoded: string | Error;
  private readonly stored: Promise<DispatchResult>;

  constructor(private readonly target: Target, payload: Payload, private readonly when?: When) {
    // Encode now: later changes to the caller's object must not change the stored job.
    try {
      this.encoded = encodePayload(payload);
    } catch (error) {
      this.encoded = error as Error;
    }
    this.stored = Promise.resolve().then(() => holding(() => this.store()));
  }

  /** Puts the job on queue `name` (default `default`). */
  onQueue(name: string): this {
    this.queueName = name;
    return this;
  }

  /** Skips this dispatch while a job with the same overlap key is pending or running. */
  withoutOverlapping(): this {
    this.overlapping = true;
    return this;
  }

  /** Runs the job `seconds` after its time (now, or the `when` given). */
  delay(seconds: number): this {
    this.delaySeconds = seconds;
    return this;
  }

  on_queue(name: string): this {
    return this.onQueue(name);
  }

  without_overlapping(): this {
    return this.withoutOverlapping();
  }

  then<A = DispatchResult, B = never>(
    onfulfilled?: ((value: DispatchResult) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.stored.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<DispatchResult | B> {
    return this.stored.catch(onrejected);
  }

  private async store(): Promise<DispatchResult> {
    if (this.encoded instanceof Error) throw this.encoded;
    if (!QUEUE_NAME.test(this.queueName)) {
      throw new UsageError(`Bad queue name "${this.queueName}": start with a letter or digit, then letters, digits and . _ : - (at most 64)`);
    }
    if (!Number.isFinite(this.delaySeconds) || this.delaySeconds < 0) {
      throw new UsageError(`Bad delay ${String(this.delaySeconds)}: give .delay() a number of seconds ≥ 0`);
    }
    const rt = await runtime();
    let name: string;
    let uniqueId: string | null = null;
    if ('jobClass' in this.target) {
      name = this.target.jobClass.nameOfJob;
      rt.registry.remember(this.target.jobClass);
      if (this.overlapping) uniqueId = uniqueIdOf(this.target.jobClass, this.encoded);
    } else {
      name = this.target.name;
      if (!rt.registry.resolve(name)) await rt.registry.discover();
      rt.registry.assertKnown(name);
      const handler = rt.registry.resolve(name);
      if (this.overlapping && handler?.kind === 'class') uniqueId = uniqueIdOf(handler.jobClass, this.encoded);
    }
    assertJobName(name);
    assertPayloadSize(this.encoded, rt.config.max_payload_bytes);
    const now = rt.clock.now();
    // The date library loads with the first dispatch that names a time, not with every worker.
    const base = this.when === undefined ? now : Math.max(now, (await import('./when.ts')).parseWhen(this.when, rt.config.timezone));
    const scheduledAt = base + Math.round(this.delaySeconds * 1000);
    // Overlap keys are per queue in every driver, so Redis Cluster can check and store in one slot.
    const overlapKey = this.overlapping ? storedOverlapKey(`${name}${uniqueId === null ? '' : `#${uniqueId}`}@${this.queueName}`) : null;
    const result = await rt.driver.push({ name, queue: this.queueName, payload: this.encoded, scheduledAt, overlapKey });
    if (result.skipped) {
      rt.logger.info({ job: name, queue: this.queueName, existingId: result.existingId }, `Job skipped: ${name} is already pending or running`);
      return { skipped: 'overlapping', existingId: result.existingId, name, queue: this.queueName };
    }
    // Only when logged: a dispatch loop at warn level pays for no date string or log object.
    if (rt.logger.isLevelEnabled('info')) {
      rt.logger.info({ id: result.id, job: name, queue: this.queueName, scheduledAt: new Date(scheduledAt).toISOString() }, `Job added: ${name}`);
    }
    return { id: result.id, name, queue: this.queueName, scheduledAt: new Date(scheduledAt) };
  }
}

/** The class's uniqueId() over the payload snapshot, or null when the class has none. */
export function uniqueIdOf(jobClass: JobClass, encoded: string): string | null {
  const probe = new jobClass(JSON.parse(encoded) as Payload);
  if (typeof probe.uniqueId !== 'function') return null;
  const id = probe.uniqueId();
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new UsageError(`${jobClass.name}.uniqueId() must return a string or number, got ${typeof id}`);
  }
  return String(id);
}
