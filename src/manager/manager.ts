/**
 * The process manager behind `rakit job:runall` and `rakit job:run`: forks `--processes` worker
 * processes and never runs job code itself. It
 * - reads the cancel requests for its processes and kills one whose cancelled job does not stop (manager-cancels.ts);
 * - enforces hard timeouts: a process whose attempt runs KILL_GRACE_MS past its timeout is killed,
 *   the attempt settled as a TimeoutError, the other jobs given back uncounted, a process started;
 * - settles what an exited process left running by the exit classification (child-exit.ts);
 * - replaces a process after `max_job` jobs without a gap (its successor is ready before it stops
 *   claiming) or over `--memory`, and restarts a crashed one;
 * - keeps the run-wide counts: the claim budget of `--once` / `--max-jobs`, and the summary;
 * - with --stop-when-empty, starts one more process for jobs held back or retried by processes that stopped first;
 * - turns SIGTERM/SIGINT into the two-phase stop of its processes (at the second, those whose
 *   jobs do not end within FORCE_KILL_MS are killed); exits after the running jobs on `job:restart`;
 * - with `--watch`, starts processes with the new code when job files change (watch-generations.ts).
 */
import { exponentialMs } from '../infra/backoff.ts';
import { EXIT_ACTIONS, classifyExit, giveBackUnstarted, settleLeftRunning, type ExitKind } from './child-exit.ts';
import type { Clock } from '../infra/clock.ts';
import type { JobConfig } from '../infra/config.ts';
import type { FullDriver } from '../store/driver.ts';
import { UsageError, coerceError } from '../infra/errors.ts';
import { wire, type WorkerMessage } from './ipc.ts';
import type { Logger } from '../infra/logger.ts';
import { readRestartMark } from '../store/restart-watch.ts';
import type { SettleDeps } from '../worker/settle.ts';
import { resultsOf } from '../worker/worker-outcome.ts';
import { WatchGenerations } from './watch-generations.ts';
import { WorkerChild } from './worker-child.ts';
import { OwedHooks } from './owed-hooks.ts';
import { watchCancels } from './manager-cancels.ts';
import { ManagerReports } from './manager-reports.ts';
import { flowsOf } from '../flows/settle-flows.ts';
import { RunTally } from './run-tally.ts';
import { announceStart, announceStop } from '../worker/worker-announce.ts';
import type { WorkerOptions } from '../worker/worker-options.ts';
import { FORCE_KILL_MS, type ManagerOptions } from './manager-options.ts';

export { FORCE_KILL_MS, type ManagerOptions } from './manager-options.ts';

export class Manager {
  private readonly children = new Set<WorkerChild>();
  private stops = 0;
  private crashes: number[] = [];
  private exitCode = 0;
  private readonly hooks: OwedHooks;
  private readonly reports: ManagerReports;
  /** How the attempts of exited processes are settled: failed() hooks and job events go to a live worker process. */
  private readonly settleDeps: SettleDeps;
  private done!: () => void;
  private restarts = new Set<NodeJS.Timeout>();
  /** Exited processes whose jobs are still being settled. */
  private settling = 0;
  private readonly watch = new WatchGenerations();
  private worker: WorkerOptions;
  private readonly tally: RunTally;
  private readonly cancels: ReturnType<typeof watchCancels>;
  /** A process was asked to say the run's start line (the first one, once it has loaded the jobs). */
  private announced = false;

  constructor(private readonly deps: { driver: FullDriver; config: JobConfig; logger: Logger; clock: Clock }, private readonly options: ManagerOptions) {
    this.tally = new RunTally(options.worker);
    this.cancels = watchCancels(this.children, deps);
    this.hooks = new OwedHooks(deps.logger, deps.driver, () => deps.clock.now());
    this.reports = new ManagerReports(deps, options.worker.queues);
    this.settleDeps = { ...deps, metrics: this.reports.metrics, flows: flowsOf(deps), results: resultsOf(deps), failedHook: (job, error) => this.hooks.owe(job, error),
      observe: (job, settled, ms, error) => this.hooks.oweEvent(job, settled, ms, error) };
    this.worker = { ...options.worker, runStartedAt: deps.clock.now(), replaceAfter: options.recycleAfter, budgetFromManager: this.tally.capped };
  }

  /** Starts the processes and resolves with the exit code once they have all stopped. */
  async run(): Promise<number> {
    await this.hooks.recover();
    if (!this.hooks.any && await this.nothingToDo()) {
      // --stop-when-empty on an empty queue (a cron run most minutes): no worker process to start.
      announceStart(this.deps, this.worker);
      announceStop(this.deps.logger, this.tally.final('empty'));
      return 0;
    }
    const finished = new Promise<void>((resolve) => (this.done = resolve));
    // Every process of this run compares job:restart marks with the one seen now.
    const restartMark = this.worker.restartMark !== undefined ? this.worker.restartMark : await readRestartMark(this.deps.driver);
    this.worker = { ...this.worker, restartMark };
    if (this.options.watch) await this.watch.start(this.options.watch, this.deps.logger, () => this.spawnAll());
    if (!this.stopping) {
      this.spawnAll();
      const deadlines = setInterval(() => this.enforceDeadlines(), 100);
      await finished;
      clearInterval(deadlines);
    }
    this.cancels.close();
    await this.watch.close();
    await this.reports.close();
    // A run ended by bad code or config ends on that error (printed by the process that met it).
    if (this.announced && this.exitCode === 0) announceStop(this.deps.logger, this.tally.final('signal'));
    return this.exitCode;
  }

  /** One look before any process starts: missing tables end the run here (a server that is down is
   * left to the processes); true for --stop-when-empty with no job due (no process starts). */
  private async nothingToDo(): Promise<boolean> {
    const w = this.worker;
    try {
      const due = await this.deps.driver.hasDue(w.queues);
      return w.stopWhenEmpty && !w.names && !this.options.watch && !due;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      return false;
    }
  }

  private spawnAll(): void {
    if (this.stopping) return;
    for (let i = 0; i < this.options.processes; i++) this.spawn();
  }

  /** First call: processes finish their running jobs and exit. Second: they give them back and exit, killed if they cannot. */
  stop(): void {
    this.stops++;
    this.tally.reason = this.stops > 1 ? 'forced' : 'signal';
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    for (const child of this.children) child.send({ type: this.stops > 1 ? 'force' : 'stop' });
    if (this.stops === 2) setTimeout(() => this.killAll(), FORCE_KILL_MS).unref();
    this.maybeDone();
  }

  /** A stop was asked for. */
  get stopping(): boolean {
    return this.stops > 0;
  }

  private get oneShot(): boolean {
    return this.worker.stopWhenEmpty || this.worker.once || this.worker.maxTime > 0 || this.worker.maxJobs > 0;
  }

  private killAll(): void {
    for (const child of this.children) {
      if (child.exited) continue;
      this.deps.logger.warn({ childPid: child.pid }, `Worker process ${child.pid} did not stop: killing it (its jobs go back to the queue)`);
      child.kill(null);
    }
  }

  private spawn(replaces: WorkerChild | null = null, waitFor?: number[]): WorkerChild {
    const child = new WorkerChild({ ...this.worker, announceStart: !this.announced, waitFor }, this.watch.current, replaces);
    this.announced = true;
    const { proc } = child;
    this.children.add(child);
    proc.on('message', (message: WorkerMessage) => this.onMessage(child, message));
    proc.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.reports.started(child);
    this.deps.logger.debug({ childPid: proc.pid }, `Worker process ${proc.pid} started`);
    return child;
  }

  private onMessage(child: WorkerChild, message: WorkerMessage): void {
    switch (message.type) {
      case 'attempts': {
        child.noteAttempts(message.finished, message.succeeded, message.ended, message.started, this.deps.clock.now());
        for (const [, kind] of message.ended) this.tally.counted(kind);
        if (message.started.length > 0) this.cancels.wake();
        if (this.tally.started(message.started.length)) this.endRun();
        break;
      }
      case 'beat':
        child.beat(message, this.stopping ? 0 : this.worker.memory, this.deps.logger);
        break;
      case 'ready':
        child.markReady();
        child.replaces?.retire('recycled');
        for (const old of this.children) if (this.watch.supersedes(child.generation, old.generation)) old.retire('signal');
        this.hooks.sendToAny(this.children);
        break;
      case 'fatal':
        child.fatal = true;
        break;
      case 'hook-done':
        this.hooks.ran(child.hooks.get(message.id));
        child.hooks.delete(message.id);
        break;
      case 'due':
        // max_job: the successor starts (after RECYCLE_LIFE) and takes over once it has loaded; this one claims on until then.
        if (child.succeeded) break;
        child.succeeded = true;
        child.cancelSuccessor = this.deps.clock.after(child.successorWait(), () => {
          if (!this.stopping && !this.tally.ended && !child.retired && !child.exited) this.spawn(child);
        });
        break;
      case 'want':
        child.send({ type: 'grant', n: this.tally.grant(message.n) });
        break;
      case 'unused':
        this.tally.unused(message.n);
        if (this.tally.started(0)) this.endRun();
        break;
      case 'stopped':
        child.reason = message.summary.reason;
        child.counts = { done: message.summary.done, failed: message.summary.failed + message.summary.retried };
        this.tally.stopped(message.summary.reason, message.waiting);
        if (child.reason === 'restart' && !this.stopping) {
          this.deps.logger.info('job:restart was called: stopping after the running jobs');
          this.stop();
          this.tally.reason = 'restart';
        }
        break;
    }
  }

  /** The run-wide cap is used up: every process finishes its jobs and none is replaced. */
  private endRun(): void {
    for (const child of this.children) child.send({ type: 'stop', reason: this.tally.ended! });
  }

  /** Kills a process whose attempt ran past its timeout + grace. */
  private enforceDeadlines(): void {
    const now = this.deps.clock.now();
    for (const child of this.children) {
      const running = child.overdue(now);
      if (!running) continue;
      const job = wire.job(running.wire);
      this.deps.logger.error({ childPid: child.pid, id: job.id, job: job.name }, running.cancelled
        ? `Job ${job.name} (id ${job.id}) was cancelled and did not stop: killing worker process ${child.pid}`
        : `Job ${job.name} (id ${job.id}) ran past its timeout of ${wire.timeoutMs(running.wire) / 1000} s: killing worker process ${child.pid}`);
      child.kill(running);
    }
  }

  private onExit(child: WorkerChild, code: number | null, signal: NodeJS.Signals | null): void {
    this.children.delete(child);
    child.cancelSuccessor?.();
    // The failed() hooks it did not report run are owed again: to another process, once.
    this.hooks.takeBack(child);
    const kind = classifyExit({
      code, signal, killedForTimeout: child.killedFor !== null, forceKilled: child.forceKilled, stoppedReason: child.reason,
      loaded: child.ready, fatal: child.fatal, watching: this.watch.watching && !this.stopping, hadJobs: child.running.size > 0,
    });
    const action = EXIT_ACTIONS[kind];
    this.reports.exited(child, kind);
    const pid = child.proc.pid;
    // Settle what it left running while its replacement starts: a server that is down right now
    // must not keep the other jobs waiting for a process.
    this.settling++;
    void this.settleLeft(child, kind, code, signal)
      .catch((error: unknown) => this.deps.logger.error({ err: coerceError(error) }, 'Could not record the jobs of a stopped worker process; their leases will bring them back'))
      .finally(() => {
        this.settling--;
        this.hooks.sendToAny(this.children);
        this.maybeDone();
      });
    if (kind === 'broken-edit' && !child.retired) this.deps.logger.error('The job files do not load: fix them and save; running workers keep the code they have');
    if (action.endRun !== undefined) {
      this.exitCode = action.endRun;
      if (!this.stopping) this.stop();
    }
    const continuing = !this.stopping && !this.tally.ended && !child.retired;
    const how = signal ?? `code ${code}`;
    if (kind === 'died-running') this.deps.logger.error({ childPid: pid, code, signal }, `Worker process ${pid} died (${how}) while running jobs${continuing ? '; starting another' : ''}`);
    if (continuing && action.respawn === 'now') this.spawn();
    else if (continuing && action.respawn === 'backoff') {
      // Died with no job running (a broken environment?): restart, slower when it keeps happening.
      const now = this.deps.clock.now();
      this.crashes = [...this.crashes.filter((t) => now - t < 30_000), now];
      const delay = exponentialMs(this.crashes.length, 100, 5_000);
      this.deps.logger.error({ childPid: pid, code, signal }, `Worker process ${pid} exited unexpectedly (${how}); starting another in ${delay / 1000} s`);
      const timer = setTimeout(() => {
        this.restarts.delete(timer);
        if (!this.stopping) this.spawn();
        this.maybeDone();
      }, delay);
      this.restarts.add(timer);
    }
    this.maybeDone();
  }

  /** Settles what an exited process left running, as its exit kind says (a failed() hook owed goes to a live
   * process); then, unless it stopped as asked (it gave its jobs back itself), what it had claimed and not started. */
  private async settleLeft(child: WorkerChild, kind: ExitKind, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const running = [...child.running.values()];
    const left = running.map((r) => ({ job: wire.job(r.wire), plan: wire.plan(r.wire), startedAt: r.startedAt, killed: r === child.killedFor, cancelled: r.cancelled, succeeded: r.succeeded }));
    child.running.clear();
    for (const result of await settleLeftRunning(this.settleDeps, left, EXIT_ACTIONS[kind].settle, code, signal)) this.tally.settled(result);
    const released = child.reason === null ? await giveBackUnstarted(this.deps, child) : 0;
    if (released > 0 && this.tally.capped) this.tally.unused(released);
  }

  private maybeDone(): void {
    if (this.watch.watching && !this.stopping && !this.oneShot) return; // --watch waits for the next change
    if (this.children.size === 0 && this.restarts.size === 0 && this.settling === 0) {
      if (this.hooks.any && this.stops < 2) {
        // A failed() hook is owed and no process is left: start one that runs hooks (sent before its stop) and exits.
        const child = this.spawn();
        this.hooks.sendTo(child);
        child.send({ type: 'stop', reason: this.tally.reason ?? 'signal' });
        return;
      }
      const owed = this.stopping || this.tally.ended ? null : this.tally.takeOwed();
      if (owed) return void this.spawn(null, owed);
      this.hooks.dropAll('the run was forced to stop');
      this.done?.();
    }
  }
}
