/**
 * The worker loop: claim due jobs into the free slots (strict queue priority), run each attempt,
 * then ack, retry with the stored backoff, or move it to the failed store; stop on the first
 * reason in the stop table. Two-phase stop: `stop()` stops claiming and lets running jobs
 * finish; `stop()` again aborts them and gives them back to the queue without counting the attempt.
 *
 * Round trips are shared: the loop claims once for all the slots freed in one turn of the event
 * loop, and the acks of the jobs that ended in that turn go out with the claim: in the claim's
 * own step where the driver has `reserveAfterAcks` (Redis), else beside it, in one call where
 * it has `ackMany`.
 */
import { Attempt, ShutdownAbort, attemptFields, describeFailure, runAttempt, type AttemptOutcome } from './attempt.ts';
import { backoffDelayMs, type Backoff } from './backoff.ts';
import type { Clock } from './clock.ts';
import type { JobConfig } from './config.ts';
import type { BatchingQueue, Driver, Leases, ReserveRequest, ReservedJob, RestartSignal, WakingQueue } from './driver.ts';
import { UsageError, coerceError } from './errors.ts';
import type { JobClass } from './jobable.ts';
import type { Logger } from './logger.ts';
import { decodePayload, type Payload } from './payload.ts';
import type { Registry } from './registry.ts';
import { throughOutage } from './retry.ts';
import { LEASE_GRACE_MS, RESTART_CHECK_MS, type StopReason, type WorkerOptions } from './worker-options.ts';

/** What a supervising process needs to know to stop an attempt by force and record it. */
export interface AttemptPlan {
  /** The attempt's timeout. */
  timeoutMs: number;
  /** No retry follows this attempt if it fails. */
  final: boolean;
  /** Wait before the retry if it fails. */
  backoffMs: number;
}

/** Lets a supervisor (the process manager) follow each attempt. */
export interface WorkerHooks {
  /** Awaited before job code runs, so the supervisor knows of the job before it can block the event loop. */
  attemptStarting?(job: ReservedJob, plan: AttemptPlan): Promise<void>;
  /** After the attempt's outcome is recorded in the driver. */
  attemptEnded?(job: ReservedJob): void;
}

export interface WorkerDeps {
  driver: Driver & RestartSignal & Partial<WakingQueue> & Partial<BatchingQueue>;
  registry: Registry;
  config: JobConfig;
  logger: Logger;
  clock: Clock;
  hooks?: WorkerHooks;
}

export interface WorkerSummary {
  reason: StopReason;
  /** Attempts that succeeded. */
  done: number;
  /** Attempts that failed and were scheduled again. */
  retried: number;
  /** Jobs moved to the failed store. */
  failed: number;
}

/** An ack waiting for the next flush. */
interface PendingAck {
  job: ReservedJob;
  resolve(held: boolean): void;
  reject(error: unknown): void;
}

export class Worker {
  /** Every claimed job until its outcome is recorded. */
  private readonly running = new Map<string, Promise<void>>();
  /** Attempts whose job code is running: the slots in use. */
  private busy = 0;
  private readonly live = new Set<Attempt>();
  /** Resolves the loop's wait for a freed slot or a recorded outcome. */
  private waiter: (() => void) | null = null;
  private acks: PendingAck[] = [];
  private ackFlush: NodeJS.Immediate | null = null;
  private readonly logsInfo: boolean;
  private readonly quit = new AbortController();
  private readonly force = new AbortController();
  private claimedCount = 0;
  private retryTimes: number[] = [];
  private readonly summary = { done: 0, retried: 0, failed: 0 };
  private memoryExceeded = false;
  /** Undefined while the store could not be read. */
  private restartMark: number | null | undefined;
  private restartCheckedAt = -Infinity;

  constructor(private readonly deps: WorkerDeps, private readonly options: WorkerOptions) {
    this.logsInfo = deps.logger.isLevelEnabled('info');
  }

  /** First call: stop claiming, finish running jobs. Second call: abort and release them. */
  stop(): void {
    if (this.quit.signal.aborted) this.forceStop();
    else this.quit.abort();
  }

  /** Both phases at once: abort running jobs and give them back uncounted. */
  forceStop(): void {
    this.quit.abort();
    this.force.abort();
    for (const attempt of this.live) attempt.cut(new ShutdownAbort());
    this.notify();
  }

  get stopping(): boolean {
    return this.quit.signal.aborted;
  }

  async run(): Promise<WorkerSummary> {
    const { clock, logger } = this.deps;
    const startedAt = clock.now();
    let reason: StopReason | null = null;
    let failures = 0;
    this.restartMark = this.options.restartMark !== undefined ? this.options.restartMark : await readRestartMark(this.deps.driver);
    this.restartCheckedAt = clock.now();
    while (reason === null) {
      reason = this.stopReason(startedAt) ?? (await this.restartRequested());
      if (reason) break;
      const free = Math.min(this.options.concurrency - this.busy, this.budget());
      let claimed: ReservedJob[] = [];
      // The acks of the jobs that ended go with the claim: carried by it where the driver can,
      // else sent in the same tick, so one round trip serves both.
      const riding = free > 0 && this.deps.driver.reserveAfterAcks ? this.takeAcks() : [];
      this.flushAcks();
      if (free > 0) {
        try {
          claimed = await this.claim(free, riding);
          failures = 0;
        } catch (error) {
          if (error instanceof UsageError) throw error;
          failures++;
          logger.error({ err: coerceError(error) }, `Cannot claim jobs from ${this.deps.driver.description}; trying again`);
          // Short and independent of --sleep: back at work within a second of the server's return.
          await clock.sleep(Math.min(100 * 2 ** (failures - 1), 1000), this.quit.signal);
          continue;
        }
      }
      for (const job of claimed) this.start(job);
      if (this.options.once && claimed.length === 0 && this.claimedCount === 0 && this.running.size === 0) {
        reason = 'once'; // --once on an empty queue: one look, then exit (as Laravel's)
        break;
      }
      if (claimed.length > 0 && this.busy < this.options.concurrency && this.budget() > 0) continue;
      if (claimed.length === 0 && this.running.size === 0 && this.options.stopWhenEmpty) {
        const next = this.nextOwnRetry();
        if (next === null) {
          reason = 'empty';
          break;
        }
        await clock.sleep(Math.max(0, next - clock.now()), this.quit.signal);
        continue;
      }
      await this.idle(claimed.length === 0 && free > 0);
    }
    await this.drain();
    return { reason, ...this.summary };
  }

  /** The stop table: the first reason that holds ends the loop. */
  private stopReason(startedAt: number): StopReason | null {
    const o = this.options;
    const now = this.deps.clock.now();
    if (this.force.signal.aborted) return 'forced';
    if (this.quit.signal.aborted) return 'signal';
    if (this.memoryExceeded) return 'memory';
    if (o.once && this.claimedCount >= 1 && this.running.size === 0) return 'once';
    if (o.maxJobs > 0 && this.claimedCount >= o.maxJobs && this.running.size === 0) return 'max-jobs';
    if (o.maxTime > 0 && now - startedAt >= o.maxTime * 1000) return 'max-time';
    return null;
  }

  /** --memory: this process uses more than it may (checked after each job). */
  private overMemory(): boolean {
    return this.memoryExceeded || (this.options.memory > 0 && process.memoryUsage().rss > this.options.memory * 1024 * 1024);
  }

  /** Claims up to `limit` jobs, the `riding` acks with them; those the driver did not carry (all of them if it failed) are sent as usual. */
  private async claim(limit: number, riding: PendingAck[]): Promise<ReservedJob[]> {
    const { driver } = this.deps;
    if (riding.length === 0 || !driver.reserveAfterAcks) return driver.reserve(this.request(limit));
    let result: Awaited<ReturnType<BatchingQueue['reserveAfterAcks']>>;
    try {
      result = await driver.reserveAfterAcks(riding.map((pending) => pending.job), this.request(limit));
    } catch (error) {
      this.sendAcks(riding);
      throw error;
    }
    this.sendAcks(riding.filter((pending, i) => {
      const held = result.held[i];
      if (held !== undefined) pending.resolve(held);
      return held === undefined;
    }));
    return result.claimed;
  }

  private request(limit: number): ReserveRequest {
    return { queues: this.options.queues, names: this.options.names, limit, leases: this.leases() };
  }

  /** 'restart' once `job:restart` stored a new mark; looked up at most every RESTART_CHECK_MS. */
  private async restartRequested(): Promise<StopReason | null> {
    const now = this.deps.clock.now();
    if (now - this.restartCheckedAt < RESTART_CHECK_MS) return null;
    this.restartCheckedAt = now;
    const mark = await readRestartMark(this.deps.driver);
    if (mark === undefined) return null;
    if (this.restartMark === undefined) this.restartMark = mark;
    return mark !== null && mark !== this.restartMark ? 'restart' : null;
  }

  /** How many more jobs this run may claim. */
  private budget(): number {
    const caps = [Infinity];
    if (this.options.once) caps.push(1);
    if (this.options.maxJobs > 0) caps.push(this.options.maxJobs);
    return Math.min(...caps) - this.claimedCount;
  }

  /**
   * Resolves the loop's wait in the next turn of the event loop, once every job that ends in
   * this one has freed its slot and queued its ack.
   */
  private notify(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    setImmediate(waiter);
  }

  /** Waits for a slot to free or an outcome to be recorded, or, when the queue was empty, for a new job or the sleep interval. */
  private async idle(empty: boolean): Promise<void> {
    const { clock, driver } = this.deps;
    const changed = this.running.size > 0 ? new Promise<void>((resolve) => (this.waiter = resolve)) : null;
    if (!empty) {
      if (changed) await changed;
      return;
    }
    const waits: Promise<unknown>[] = changed ? [changed] : [];
    // Ends this wait's timers and listeners as soon as one of the waits wins.
    const over = new AbortController();
    const wake = AbortSignal.any([this.quit.signal, over.signal]);
    const sleep = () => clock.sleep(this.options.sleepMs, wake);
    // A wait that fails (its server is away) is a plain sleep: the claim after it reports the outage.
    waits.push(driver.waitForJob ? driver.waitForJob(this.options.queues, this.options.sleepMs, wake).catch(sleep) : sleep());
    try {
      await Promise.race(waits);
    } finally {
      over.abort(IDLE_OVER);
    }
  }

  private nextOwnRetry(): number | null {
    const now = this.deps.clock.now();
    this.retryTimes = this.retryTimes.filter((t) => t > now);
    return this.retryTimes.length ? Math.min(...this.retryTimes) : null;
  }

  /** Leases by job name; the job classes of a process do not change once discovered. */
  private leasesCache: Leases | null = null;

  private leases(): Leases {
    return (this.leasesCache ??= this.computeLeases());
  }

  private computeLeases(): Leases {
    const byName: Record<string, number> = {};
    for (const jobClass of this.deps.registry.jobClasses()) byName[jobClass.nameOfJob] = this.timeoutMs(jobClass) + LEASE_GRACE_MS;
    return { byName, defaultMs: this.timeoutMs(null) + LEASE_GRACE_MS };
  }

  private timeoutMs(jobClass: JobClass | null): number {
    return Math.round((jobClass?.timeout ?? this.options.timeout ?? this.deps.config.timeout) * 1000);
  }

  private start(job: ReservedJob): void {
    this.claimedCount++;
    this.busy++;
    this.running.set(job.id, this.track(job));
  }

  /** One claimed job from its attempt to its recorded outcome. */
  private async track(job: ReservedJob): Promise<void> {
    try {
      await this.process(job);
    } catch (error) {
      this.deps.logger.error({ err: coerceError(error), id: job.id, job: job.name }, 'Job bookkeeping failed; its lease will bring it back');
    } finally {
      this.deps.hooks?.attemptEnded?.(job);
      this.running.delete(job.id);
      if (this.overMemory()) this.memoryExceeded = true;
      if (this.countsRunningJobs()) this.notify();
    }
  }

  /**
   * Whether the loop must look again when an outcome is recorded (its slot was freed before):
   * only rules that wait for running jobs to end need it. Otherwise an idle worker would claim
   * again after each job's ack, for nothing.
   */
  private countsRunningJobs(): boolean {
    const o = this.options;
    return o.stopWhenEmpty || o.once || o.maxJobs > 0 || this.memoryExceeded || this.quit.signal.aborted;
  }

  /** Runs one attempt and records its outcome in the driver. */
  private async process(job: ReservedJob): Promise<void> {
    const { registry, clock, logger } = this.deps;
    const handler = registry.resolve(job.name);
    const jobClass = handler?.kind === 'class' ? handler.jobClass : null;
    const tries = this.triesOf(jobClass);
    const backoff = this.backoffOf(jobClass);
    const timeoutMs = this.timeoutMs(jobClass);
    const attempt = new Attempt(job);
    this.live.add(attempt);
    let outcome: AttemptOutcome;
    let begun = clock.now();
    // The slot frees when job code ends, and the ack rides on the next claim. A failed attempt
    // keeps it until its retry or failure is recorded (and its failed() hook has run), as in a
    // one-at-a-time worker: the next claim sees a retry that is due at once, so it keeps its
    // place ahead of lower queues.
    let keepsSlot = false;
    try {
      if (this.deps.hooks?.attemptStarting) {
        await this.deps.hooks.attemptStarting(job, {
          timeoutMs, final: !handler || job.attempts >= tries, backoffMs: backoffDelayMs(backoff, job.attempts),
        });
        begun = clock.now();
      }
      if (this.force.signal.aborted) attempt.cut(new ShutdownAbort());
      outcome = await runAttempt(job, handler, timeoutMs, clock, attempt);
      keepsSlot = outcome.status === 'error' && !this.force.signal.aborted;
    } finally {
      this.live.delete(attempt);
      if (!keepsSlot) this.freeSlot();
    }
    if (outcome.status === 'error') {
      try {
        await this.recordFailure(job, outcome, { jobClass, tries, backoff, begun });
      } finally {
        if (keepsSlot) this.freeSlot();
      }
      return;
    }
    const fields = attemptFields(job, clock.now() - begun);
    const held = await this.ack(job);
    this.summary.done++;
    if (!held) logger.warn(fields, `Job executed: ${job.name}, but its lease had lapsed and another worker holds it`);
    else if (this.logsInfo) logger.info({ ...fields, status: 'DONE' }, `Job executed: ${job.name} (attempt ${job.attempts})`);
  }

  private freeSlot(): void {
    this.busy--;
    this.notify();
  }

  /**
   * A failed attempt: given back uncounted after a forced stop (cut short by us, not by the job),
   * else retried with the stored backoff, or moved to the failed store and its failed() hook run.
   */
  private async recordFailure(job: ReservedJob, outcome: Extract<AttemptOutcome, { status: 'error' }>,
    { jobClass, tries, backoff, begun }: { jobClass: JobClass | null; tries: number; backoff: Backoff; begun: number }): Promise<void> {
    const { driver, clock, logger } = this.deps;
    const fields = attemptFields(job, clock.now() - begun);
    if (this.force.signal.aborted) {
      await throughOutage(() => driver.release(job, { at: clock.now(), countAttempt: false }), clock);
      logger.warn({ ...fields, status: 'RELEASED' }, `Job released: ${job.name} (worker forced to stop)`);
      return;
    }
    if (!outcome.final && job.attempts < tries) {
      const at = clock.now() + backoffDelayMs(backoff, job.attempts);
      await throughOutage(() => driver.release(job, { at, countAttempt: true }), clock);
      this.retryTimes.push(at);
      this.summary.retried++;
      logger.warn({ ...fields, status: 'RETRY', err: outcome.error.message, retryAt: new Date(at).toISOString() },
        `Job retry: ${job.name} (attempt ${job.attempts} of ${tries} failed: ${outcome.error.message})`);
      return;
    }
    const moved = await throughOutage(() => driver.fail(job, { exception: describeFailure(outcome.error) }), clock);
    if (!moved) {
      logger.warn(fields, `Job failed: ${job.name}, but its lease had lapsed and another worker holds it`);
      return;
    }
    this.summary.failed++;
    logger.error({ ...fields, status: 'FAIL', err: outcome.error.message }, `Job failed: ${job.name} (after ${job.attempts} attempts): ${outcome.error.message}`);
    if (jobClass && typeof jobClass.prototype.failed === 'function') {
      try {
        const instance = new jobClass(safeDecode(job.payload), { id: job.id, queue: job.queue, attempt: job.attempts, signal: AbortSignal.abort() });
        await instance.failed!(outcome.error);
      } catch (error) {
        logger.error({ ...fields, err: coerceError(error) }, `The failed() hook of ${job.name} threw`);
      }
    }
  }

  private triesOf(jobClass: JobClass | null): number {
    return jobClass?.tries ?? this.options.tries ?? this.deps.config.max_retries;
  }

  private backoffOf(jobClass: JobClass | null): Backoff {
    return jobClass?.backoff ?? this.options.backoff ?? this.deps.config.backoff ?? this.deps.config.sleep_ms / 1000;
  }

  /** Queues the ack of a job that succeeded; it goes out with the loop's next claim, or in the next turn. */
  private ack(job: ReservedJob): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.acks.push({ job, resolve, reject });
      this.ackFlush ??= setImmediate(() => this.flushAcks());
    });
  }

  /** Takes the queued acks (they will not go out by themselves). */
  private takeAcks(): PendingAck[] {
    if (this.ackFlush) clearImmediate(this.ackFlush);
    this.ackFlush = null;
    const batch = this.acks;
    this.acks = [];
    return batch;
  }

  private flushAcks(): void {
    this.sendAcks(this.takeAcks());
  }

  /** Sends acks: one `ackMany` call where the driver has it, through a short outage. */
  private sendAcks(batch: PendingAck[]): void {
    if (batch.length === 0) return;
    const { driver, clock } = this.deps;
    const jobs = batch.map((pending) => pending.job);
    const held = driver.ackMany && jobs.length > 1
      ? throughOutage(() => driver.ackMany!(jobs), clock)
      : Promise.all(jobs.map((job) => throughOutage(() => driver.ack(job), clock)));
    held.then(
      (results) => batch.forEach((pending, i) => pending.resolve(results[i] === true)),
      (error: unknown) => batch.forEach((pending) => pending.reject(error)),
    );
  }

  /** Waits for running jobs; after a forced stop, their release is done by `process`. */
  private async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }
}

/** The reason an idle wait's own timers are cancelled with (a constant: no DOMException per wait). */
const IDLE_OVER = Symbol('idle over');

/** The stored restart mark (null: none); undefined when the store cannot be read now (the claim reports outages). */
export async function readRestartMark(driver: RestartSignal): Promise<number | null | undefined> {
  try {
    return await driver.restartRequestedAt();
  } catch {
    return undefined;
  }
}

/** The payload for the failed() hook; a corrupt one (the reason for the failure) reads as {}. */
function safeDecode(text: string): Payload {
  try {
    return decodePayload(text);
  } catch {
    return {};
  }
}

/**
 * Loads the jobs, checks the names asked for, says what the worker is about to do (and the
 * driver's warning), runs it, and says how it stopped: the same in a worker process and in-process.
 */
export async function runAnnounced(deps: WorkerDeps, worker: Worker, options: WorkerOptions): Promise<WorkerSummary> {
  const { registry, logger } = deps;
  await registry.discover();
  for (const name of options.names ?? []) registry.assertKnown(name);
  announceStart(deps, options);
  const summary = await worker.run();
  announceStop(logger, summary);
  return summary;
}

/** What a worker says when it starts: the driver's warning, then where it works. */
export function announceStart({ driver, logger }: Pick<WorkerDeps, 'driver' | 'logger'>, options: WorkerOptions): void {
  if (driver.warning) logger.warn(driver.warning);
  logger.info({ driver: driver.description, queues: options.queues ?? 'all', concurrency: options.concurrency },
    `Worker started on ${driver.description}`);
}

export function announceStop(logger: Logger, summary: WorkerSummary): void {
  logger.info(summary, `Worker stopped (${summary.reason}): ${summary.done} done, ${summary.retried} retried, ${summary.failed} failed`);
}
