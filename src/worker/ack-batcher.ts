/**
 * Batches the acks of jobs that succeeded, so round trips are shared: the acks of the jobs
 * that ended in one turn of the event loop go out together with the worker's next claim (in the
 * claim's own step where the driver has `reserveAfterAcks`, as on Redis), else beside it, in one
 * call where the driver has `ackMany`, else one `ack` each. Each ack resolves with whether this
 * worker still held the job.
 */
import type { Clock } from '../infra/clock.ts';
import type { BatchingQueue, Driver, ReserveRequest, ReservedJob } from '../store/driver.ts';
import { throughOutage } from '../store/retry.ts';

/** An ack waiting for the next flush. */
interface PendingAck {
  job: ReservedJob;
  resolve(held: boolean): void;
  reject(error: unknown): void;
}

type AckingDriver = Pick<Driver, 'reserve' | 'ack'> & Partial<BatchingQueue>;

export class AckBatcher {
  private acks: PendingAck[] = [];
  private timer: NodeJS.Immediate | null = null;

  constructor(private readonly driver: AckingDriver, private readonly clock: Clock) {}

  /** Queues an ack; it goes out with the next claim, or by itself in the next turn. */
  ack(job: ReservedJob): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.acks.push({ job, resolve, reject });
      this.timer ??= setImmediate(() => this.flush());
    });
  }

  /** Sends every queued ack now. */
  flush(): void {
    this.send(this.take());
  }

  /**
   * Claims with `request`, the queued acks riding on the claim where the driver can carry them
   * (those it did not carry, all of them if the claim failed, are sent as usual); else the acks
   * go out beside the claim.
   */
  async claim(request: ReserveRequest): Promise<ReservedJob[]> {
    const { driver } = this;
    const riding = driver.reserveAfterAcks ? this.take() : [];
    this.flush();
    if (riding.length === 0 || !driver.reserveAfterAcks) return driver.reserve(request);
    let result: Awaited<ReturnType<BatchingQueue['reserveAfterAcks']>>;
    try {
      result = await driver.reserveAfterAcks(riding.map((pending) => pending.job), request);
    } catch (error) {
      this.send(riding);
      throw error;
    }
    this.send(riding.filter((pending, i) => {
      const held = result.held[i];
      if (held !== undefined) pending.resolve(held);
      return held === undefined;
    }));
    return result.claimed;
  }

  /** Takes the queued acks (they will not go out by themselves). */
  private take(): PendingAck[] {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    const batch = this.acks;
    this.acks = [];
    return batch;
  }

  /** Sends acks: one `ackMany` call where the driver has it, through a short outage. */
  private send(batch: PendingAck[]): void {
    if (batch.length === 0) return;
    const { driver, clock } = this;
    const jobs = batch.map((pending) => pending.job);
    const held = driver.ackMany && jobs.length > 1
      ? throughOutage(() => driver.ackMany!(jobs), clock)
      : Promise.all(jobs.map((job) => throughOutage(() => driver.ack(job), clock)));
    held.then(
      (results) => batch.forEach((pending, i) => pending.resolve(results[i] === true)),
      (error: unknown) => batch.forEach((pending) => pending.reject(error)),
    );
  }
}
