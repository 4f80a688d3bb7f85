/**
 * The worker loop: claim due jobs into the free slots, run each attempt, and have `settle`
 * record how it ended; stop on the first reason in the stop table. A slot is held until the
 * attempt's code has really ended, a timed-out one included. Two-phase stop: `stop()` stops
 * claiming and lets running jobs finish; `stop()` again aborts them and gives them back to the
 * queue without counting the attempt, giving up after FORCE_GRACE_MS on code that ignores it.
 */
import { AckBatcher } from './ack-batcher.ts';
import { Attempt, ShutdownAbort, runAttempt, type AttemptOutcome, type OnStuck } from './attempt.ts';
import { exponentialMs } from '../infra/backoff.ts';
import type { ReservedJob } from '../store/driver.ts';
import { CancelledError, UsageError, coerceError } from '../infra/errors.ts';
import { JobPolicy } from './job-policy.ts';
import { flowsOf, type Flows } from '../flows/settle-flows.ts';
import { traceAttempt } from '../flows/traced.ts';
import { tracing, type SpanNotes } from '../infra/tracing.ts';
import type { WorkerDeps } from './worker-hooks.ts';
import { WorkerAdmin } from './worker-admin.ts';
import { idleWait } from './worker-idle.ts';
import type { WorkerBeat, WorkerEnd } from '../store/admin-store.ts';
import { RestartWatch } from '../store/restart-watch.ts';
import { laneEnded } from '../store/claims/lane-limits.ts';
import { settle, type SettleDeps, type Settled } from './settle.ts';
import { cannotStop, settlementOf, workerSettleDeps } from './worker-outcome.ts';
import { FORCE_GRACE_MS, claimBudget, stopReason, type StopReason, type WorkerOptions, type WorkerState, type WorkerSummary } from './worker-options.ts';

export class Worker {
  /** Every claimed job until its outcome is recorded, with when it was claimed. */
  private readonly running = new Map<string, { job: ReservedJob; at: number; done: Promise<void> }>();
  /** Attempts whose job code is running: the slots in use. */
  private busy = 0;
  private readonly live = new Set<Attempt>();
  /** Resolves the loop's wait for a freed slot or a recorded outcome. */
  private waiter: (() => void) | null = null;
  private readonly acks: AckBatcher;
  private readonly policy: JobPolicy;
  private readonly quit = new AbortController();
  private readonly force = new AbortController();
  private quitReason: StopReason = 'signal';
  private claimedCount = 0;
  /** Outcomes recorded so far: one recorded during a claim may have made a job due (a chain's next, a batch's callback). */
  private recorded = 0;
  /** --stop-when-empty: when the jobs this process released or retried are due (it waits for them). */
  private retryTimes: number[];
  private readonly summary = { done: 0, retried: 0, failed: 0, skipped: 0 };
  private memoryExceeded = false;
  private readonly restart: RestartWatch;
  private readonly settleDeps: SettleDeps;
  private readonly admin: WorkerAdmin;
  private readonly flows: Flows | null;
  private readonly cannotStop: OnStuck;

  constructor(private readonly deps: WorkerDeps, private readonly options: WorkerOptions) {
    this.acks = new AckBatcher(deps.driver, deps.clock);
    this.policy = new JobPolicy(deps.registry, options, deps.config);
    this.restart = new RestartWatch(deps.driver, deps.clock, options.restartMark);
    const running = this.running;
    this.admin = new WorkerAdmin(deps, !deps.hooks?.reportedBySupervisor, deps.hooks?.cancelsFromSupervisor ? null
      : { holds: (id) => running.has(id), get busy() { return running.size > 0; }, cancel: (id) => void this.cancel(id) });
    this.flows = flowsOf(deps);
    this.settleDeps = workerSettleDeps(deps, this.acks, this.admin, this.flows);
    this.cannotStop = cannotStop(deps.logger);
    this.retryTimes = [...(options.waitFor ?? [])];
  }

  /** A cancel request for job `id`: its running attempt's signal aborts, and it is recorded cancelled once its code stops. */
  cancel(id: string): boolean {
    for (const attempt of this.live) {
      if (attempt.id !== id) continue;
      attempt.cut(new CancelledError(`Job "${attempt.job.name}" (id ${id}) was cancelled`));
      return true;
    }
    return false;
  }

  /** First call: stop claiming, finish running jobs (`reason`: why, for the summary). Second call: abort and release them. */
  stop(reason: StopReason = 'signal'): void {
    if (this.quit.signal.aborted) return this.forceStop();
    this.quitReason = reason;
    this.quit.abort();
  }

  /** Both phases at once: abort running jobs and give them back uncounted; code that ignores the abort is given up on after FORCE_GRACE_MS. */
  forceStop(): void {
    if (this.force.signal.aborted) return;
    this.quit.abort();
    this.force.abort();
    for (const attempt of this.live) attempt.cut(new ShutdownAbort());
    if (this.live.size > 0) {
      const late = setTimeout(() => {
        for (const attempt of this.live) attempt.abandon(new ShutdownAbort());
      }, FORCE_GRACE_MS);
      late.unref();
    }
    this.notify();
  }

  get stopping(): boolean { return this.quit.signal.aborted; }

  /** --stop-when-empty: when the jobs it released or retried are due, for a process taking over (empty after a stop for 'empty'). */
  get waiting(): readonly number[] { return this.retryTimes; }

  /** Attempts finished so far: done, retried, failed, skipped. */
  get counts(): Readonly<Omit<WorkerSummary, 'reason'>> {
    return this.summary;
  }

  async run(): Promise<WorkerSummary> {
    let end: WorkerEnd = 'crash';
    try {
      await Promise.all([this.restart.begin(), this.admin.begin(() => this.beat())]);
      const summary = await this.loop();
      end = summary.reason;
      return summary;
    } finally {
      await this.admin.end(end);
    }
  }

  /** What this process's beat says (when it reports itself: heartbeat.ts); a retried attempt counts as failed. */
  private beat(): Pick<WorkerBeat, 'pid' | 'queues' | 'running' | 'done' | 'failed'> {
    const running = [...this.running.values()].map(({ job, at }) => ({ id: job.id, name: job.name, queue: job.queue, startedAt: at }));
    return { pid: process.pid, queues: this.options.queues, running, done: this.summary.done, failed: this.summary.failed + this.summary.retried };
  }

  private async loop(): Promise<WorkerSummary> {
    const { clock, logger } = this.deps;
    const startedAt = this.options.runStartedAt ?? clock.now();
    let reason: StopReason | null = null;
    let failures = 0;
    while (reason === null) {
      reason = stopReason(this.options, this.state(startedAt)) ?? ((await this.restart.requested()) ? 'restart' : null);
      if (reason) break;
      const recordedBefore = this.recorded;
      const lookedAt = clock.now();
      let free = Math.min(this.options.concurrency - this.busy, claimBudget(this.options, this.claimedCount));
      let claimed: ReservedJob[] = [];
      if (free > 0 && this.deps.hooks?.claimBudget) free = await this.deps.hooks.claimBudget(free);
      if (free > 0) {
        try {
          claimed = await this.acks.claim({ queues: this.options.queues, weights: this.options.weights ?? null, names: this.options.names, limit: free, paused: this.admin.paused.current, leases: this.policy.leases(), logger, owner: this.options.owner });
          failures = 0;
        } catch (error) {
          this.deps.hooks?.unusedBudget?.(free);
          if (error instanceof UsageError) throw error;
          failures++;
          logger.error({ err: coerceError(error) }, `Cannot claim jobs from ${this.deps.driver.description}; trying again`);
          // Short and independent of --sleep: back at work within a second of the server's return.
          await clock.sleep(exponentialMs(failures, 100, 1000), this.quit.signal);
          continue;
        }
        if (claimed.length < free) this.deps.hooks?.unusedBudget?.(free - claimed.length);
      } else this.acks.flush();
      for (const job of claimed) this.start(job);
      if (this.options.once && claimed.length === 0 && this.claimedCount === 0 && this.running.size === 0) {
        reason = 'once'; // --once on an empty queue: one look, then exit (as Laravel's)
        break;
      }
      if (claimed.length > 0 && this.busy < this.options.concurrency && claimBudget(this.options, this.claimedCount) > 0) continue;
      if (claimed.length === 0 && this.running.size === 0 && this.options.stopWhenEmpty) {
        if (this.recorded !== recordedBefore) continue; // recorded during the claim: look again
        const next = this.nextOwnRetry(lookedAt);
        if (next === null) {
          reason = 'empty';
          break;
        }
        await clock.sleep(Math.max(0, next - clock.now()), this.quit.signal);
        continue;
      }
      await this.idle(claimed.length === 0 && this.busy < this.options.concurrency);
    }
    this.acks.flush();
    await this.drain();
    return { reason, ...this.summary };
  }

  private state(startedAt: number): WorkerState {
    const quit = this.force.signal.aborted ? 'forced' : this.quit.signal.aborted ? this.quitReason : null;
    return { quit, memoryExceeded: this.memoryExceeded, claimed: this.claimedCount, running: this.running.size, elapsedMs: this.deps.clock.now() - startedAt };
  }

  /** --memory: this process uses more than it may (checked after each job). */
  private overMemory(): boolean {
    return this.memoryExceeded || (this.options.memory > 0 && process.memoryUsage().rss > this.options.memory * 1024 * 1024);
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

  /** Waits for a slot to free or an outcome to be recorded, or, when the queue was empty, for a new job, a resume or the sleep interval. */
  private idle(empty: boolean): Promise<void> {
    const changed = this.running.size > 0 ? new Promise<void>((resolve) => (this.waiter = resolve)) : null;
    return idleWait({ changed, empty, driver: this.deps.driver, clock: this.deps.clock, options: this.options, quit: this.quit.signal, paused: this.admin.paused });
  }

  /** The first due time of a job it released or retried that was not due yet when the queues were last looked at (`lookedAt`). */
  private nextOwnRetry(lookedAt: number): number | null {
    this.retryTimes = this.retryTimes.filter((t) => t > lookedAt);
    return this.retryTimes.length ? Math.min(...this.retryTimes) : null;
  }

  private start(job: ReservedJob): void {
    this.claimedCount++;
    if (this.claimedCount === this.options.replaceAfter) this.deps.hooks?.dueForReplacement?.();
    this.busy++;
    this.admin.cancels?.wake();
    this.running.set(job.id, { job, at: this.deps.clock.now(), done: this.track(job) });
  }

  /** One claimed job from its attempt to its recorded outcome. */
  private async track(job: ReservedJob): Promise<void> {
    let ended: Settled['kind'] | null = 'lost';
    try {
      const traced = tracing(); // the app's OpenTelemetry SDK: the attempt in its span (flows/traced.ts)
      ended = await (traced ? traceAttempt(traced, this.deps.driver, job, this.deps.clock.now(), (span) => this.process(job, span)) : this.process(job));
    } catch (error) {
      this.deps.logger.error({ err: coerceError(error), id: job.id, job: job.name }, 'Job bookkeeping failed; its lease will bring it back');
    } finally {
      // A job left to the supervisor is still running as far as it knows.
      if (ended) this.deps.hooks?.attemptEnded?.(job, ended);
      // A job of a group with limits frees its running slot (store/claims/lane-limits.ts).
      laneEnded(job)?.catch((error: unknown) => this.deps.logger.warn({ err: coerceError(error), id: job.id }, 'Could not free the running slot of its group; it frees itself when its lease ends'));
      this.running.delete(job.id);
      this.recorded++;
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

  /** Runs one attempt and has its outcome recorded (what it was); null when it is left to the supervisor (code given up on). */
  private async process(job: ReservedJob, span?: SpanNotes): Promise<Settled['kind'] | null> {
    const { registry, clock, hooks } = this.deps;
    const handler = registry.resolve(job.name);
    const plan = this.policy.plan(job, handler?.kind === 'class' ? handler.jobClass : null, handler !== null);
    const attempt = new Attempt(job, this.deps.driver, clock);
    this.live.add(attempt);
    let outcome: AttemptOutcome;
    let begun = clock.now();
    // The slot frees when job code ends, and the ack rides on the next claim. A failed attempt
    // keeps it until its retry or failure is recorded (and its failed() hook has run), as in a
    // one-at-a-time worker: the next claim sees a retry that is due at once, so it keeps its
    // place ahead of lower queues.
    let keepsSlot = false;
    try {
      // A job of a cancelled batch is not run, only counted; one in no workflow is not awaited for.
      const admitted = !this.flows?.concerns(job) || (await this.flows.admit(job, attempt));
      if (admitted === true && hooks?.attemptStarting) {
        await hooks.attemptStarting(job, plan);
        begun = clock.now();
      }
      if (this.force.signal.aborted) attempt.cut(new ShutdownAbort());
      outcome = admitted !== true ? { status: 'skipped', why: admitted } : await runAttempt(job, handler, plan.timeoutMs, clock, attempt, hooks?.killsStuckAttempts ? undefined : this.cannotStop);
      if (!attempt.abandoned) hooks?.codeEnded?.(job, attempt.cutReason !== null, outcome.status === 'done');
      keepsSlot = outcome.status === 'error' && !this.force.signal.aborted;
      if (outcome.status === 'error') span?.fail(outcome.error);
    } finally {
      this.live.delete(attempt);
      if (!keepsSlot) this.freeSlot();
    }
    if (attempt.abandoned && hooks?.killsStuckAttempts) return null;
    let kind: Settled['kind'] = 'lost';
    try {
      const result = await settle(this.settleDeps, job, settlementOf(outcome, attempt, this.force.signal.aborted), plan, clock.now() - begun);
      kind = result.kind;
      if (result.kind === 'done') this.summary.done++;
      else if (result.kind === 'failed' || result.kind === 'skipped') this.summary[result.kind]++;
      else if (result.kind === 'retried' || result.kind === 'released') {
        if (result.kind === 'retried') this.summary.retried++;
        if (this.options.stopWhenEmpty) this.retryTimes.push(result.at);
      }
    } finally {
      if (keepsSlot) this.freeSlot();
    }
    return kind;
  }

  private freeSlot(): void {
    this.busy--;
    this.notify();
  }

  /** Waits for running jobs; after a forced stop, their release is done by `process`. */
  private async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
