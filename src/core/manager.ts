/**
 * The process manager behind `rakit job:runall` and `rakit job:run`: forks `--processes` worker
 * processes and never runs job code itself. It
 * - enforces hard timeouts: an attempt still running at timeout + KILL_GRACE_MS (a job that
 *   ignores its AbortSignal or blocks the event loop) gets its process killed; the manager
 *   records the attempt as a TimeoutError (retry or failed store, by `tries`), gives the other
 *   jobs of that process back uncounted, and starts a new process;
 * - replaces a process after `max_job` jobs or over `--memory`, and restarts a crashed one with
 *   a growing delay;
 * - turns SIGTERM/SIGINT into the two-phase stop of its processes and exits when they have;
 * - exits after their running jobs when `job:restart` stores a new restart mark (the deploy step);
 * - with `--watch`, starts processes with the new code when job files change and retires the
 *   old ones once the new ones have loaded (a file that does not load keeps the old ones).
 * Leases (timeout + LEASE_GRACE_MS) outlast the kill, so no other worker can take a job the
 * manager has not yet stopped.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { FSWatcher } from 'chokidar';
import { attemptFields, describeFailure } from './attempt.ts';
import type { Clock } from './clock.ts';
import type { Driver, RestartSignal } from './driver.ts';
import { TimeoutError, coerceError } from './errors.ts';
import { BIN, WORKER_ARG, fromWire, type ManagerMessage, type WireAttempt, type WorkerMessage } from './ipc.ts';
import type { Logger } from './logger.ts';
import { throughOutage } from './retry.ts';
import { announceStart, announceStop, readRestartMark } from './worker.ts';
import type { StopReason, WorkerOptions } from './worker-options.ts';

/** How long past its timeout an attempt may run before its process is killed. */
export const KILL_GRACE_MS = 2_000;

export interface ManagerOptions {
  /** Worker processes to keep running. */
  processes: number;
  /** What each worker process does. */
  worker: WorkerOptions;
  /** Replace a process after this many jobs (0 = never). */
  recycleAfter: number;
  /** `--watch`: the folder whose changes bring up processes with new code. */
  watch?: string;
}

/** Changes closer together than this start one new generation of processes. */
const WATCH_DEBOUNCE_MS = 200;

/** An attempt as the worker process reported it; its job and plan are read from the wire only when needed. */
interface Running {
  wire: WireAttempt;
  startedAt: number;
  deadline: number;
}

interface Child {
  proc: ChildProcess;
  running: Map<string, Running>;
  /** Why the manager killed it, if it did. */
  killedFor: Running | null;
  reason: StopReason | null;
  /** Processes started for one version of the job files (`--watch`); older ones retire. */
  generation: number;
  /** It has loaded the job files. */
  ready: boolean;
  /** Asked to stop because a newer generation took over: not replaced when it exits. */
  retired: boolean;
}

export class Manager {
  private readonly children = new Set<Child>();
  private stops = 0;
  /** When recent crashes happened (epoch ms). */
  private crashes: number[] = [];
  private exitCode = 0;
  private pendingHooks: ManagerMessage[] = [];
  private done!: () => void;
  private restarts = new Set<NodeJS.Timeout>();
  /** Stopped processes whose jobs are still being recorded. */
  private settling = 0;
  private generation = 0;
  private watcher: FSWatcher | null = null;
  private worker: WorkerOptions;

  constructor(
    private readonly deps: { driver: Driver & RestartSignal; logger: Logger; clock: Clock },
    private readonly options: ManagerOptions,
  ) {
    this.worker = options.worker;
  }

  /** Starts the processes and resolves with the exit code once they have all stopped. */
  async run(): Promise<number> {
    if (await this.nothingToDo()) {
      // --stop-when-empty on an empty queue (a cron run most minutes): no worker process to start.
      announceStart(this.deps, this.worker);
      announceStop(this.deps.logger, { reason: 'empty', done: 0, retried: 0, failed: 0 });
      return 0;
    }
    const finished = new Promise<void>((resolve) => (this.done = resolve));
    // Every process of this run compares job:restart marks with the one seen now.
    const restartMark = this.worker.restartMark !== undefined ? this.worker.restartMark : await readRestartMark(this.deps.driver);
    this.worker = { ...this.worker, restartMark };
    if (this.options.watch) await this.watchJobFiles(this.options.watch);
    if (this.stopping) {
      // Stopped while starting up: no process to start, nothing ran.
      await this.watcher?.close();
      announceStop(this.deps.logger, { reason: 'signal', done: 0, retried: 0, failed: 0 });
      return this.exitCode;
    }
    for (let i = 0; i < this.options.processes; i++) this.spawn();
    const deadlines = setInterval(() => this.enforceDeadlines(), 100);
    await finished;
    clearInterval(deadlines);
    await this.watcher?.close();
    return this.exitCode;
  }

  /** --stop-when-empty and no job is due on the worker's queues (a failing look says "maybe": start a worker). */
  private async nothingToDo(): Promise<boolean> {
    const w = this.worker;
    if (!w.stopWhenEmpty || w.names || this.options.watch) return false;
    try {
      return !(await this.deps.driver.hasDue(w.queues));
    } catch {
      return false;
    }
  }

  private async watchJobFiles(dir: string): Promise<void> {
    const { watch } = await import('chokidar');
    let timer: NodeJS.Timeout | null = null;
    this.watcher = watch(dir, { ignoreInitial: true, ignored: (file) => /(^|\/)(\.|node_modules)/.test(file) })
      .on('all', () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => this.reload(), WATCH_DEBOUNCE_MS);
      })
      .on('error', (error) => this.deps.logger.warn({ err: coerceError(error) }, `Cannot watch ${dir}; restart the worker to load changed jobs`));
  }

  /** Job files changed: start a new generation; the old one retires once it has loaded. */
  private reload(): void {
    if (this.stopping) return;
    this.generation++;
    this.deps.logger.info('Job files changed: starting worker processes with the new code');
    for (let i = 0; i < this.options.processes; i++) this.spawn();
  }

  /** First call: processes finish their running jobs and exit. Second: they give them back and exit. */
  stop(): void {
    this.stops++;
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    const message: ManagerMessage = { type: this.stops > 1 ? 'force' : 'stop' };
    for (const child of this.children) this.send(child, message);
    this.maybeDone();
  }

  /** A stop was asked for. */
  get stopping(): boolean {
    return this.stops > 0;
  }

  private get oneShot(): boolean {
    const w = this.worker;
    return w.stopWhenEmpty || w.once || w.maxTime > 0 || (w.maxJobs > 0 && this.options.recycleAfter === 0);
  }

  private spawn(): void {
    const maxJobs = this.options.recycleAfter > 0 ? this.options.recycleAfter : this.options.worker.maxJobs;
    const proc = fork(BIN, [WORKER_ARG], {
      env: { ...process.env, RAKIT_WORKER: JSON.stringify({ ...this.worker, maxJobs }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child: Child = { proc, running: new Map(), killedFor: null, reason: null, generation: this.generation, ready: false, retired: false };
    this.children.add(child);
    proc.on('message', (message: WorkerMessage) => this.onMessage(child, message));
    proc.on('exit', (code, signal) => this.onExit(child, code, signal));
    this.deps.logger.debug({ pid: proc.pid }, `Worker process ${proc.pid} started`);
    if (this.settling === 0) for (const hook of this.pendingHooks.splice(0)) this.send(child, hook);
  }

  private send(child: Child, message: ManagerMessage): void {
    if (child.proc.connected) child.proc.send(message, (error) => void error);
  }

  private onMessage(child: Child, message: WorkerMessage): void {
    switch (message.type) {
      case 'attempts': {
        for (const id of message.ended) child.running.delete(id);
        const now = this.deps.clock.now();
        // wire[0] is the job's id, wire[10] its timeout (ms).
        for (const wire of message.started) child.running.set(wire[0], { wire, startedAt: now, deadline: now + wire[10] + KILL_GRACE_MS });
        break;
      }
      case 'beat':
        // Once per process: a second `stop` would not be needed, and it must never turn into a force.
        if (this.options.worker.memory > 0 && message.rss > this.options.worker.memory * 1024 * 1024 && !this.stopping && child.reason !== 'memory') {
          this.deps.logger.warn({ pid: child.proc.pid, rss: message.rss }, `Worker process ${child.proc.pid} is over --memory; replacing it after its running jobs`);
          this.send(child, { type: 'stop' });
          child.reason = 'memory';
        }
        break;
      case 'ready':
        child.ready = true;
        for (const old of this.children) {
          if (old.generation >= child.generation || old.retired) continue;
          old.retired = true;
          this.send(old, { type: 'stop' });
        }
        break;
      case 'stopped':
        child.reason ??= message.summary.reason;
        if (message.summary.reason === 'restart' && !this.stopping) {
          this.deps.logger.info('job:restart was called: stopping after the running jobs');
          this.stop();
        }
        break;
    }
  }

  /** Kills a process whose attempt ran past its timeout + grace. */
  private enforceDeadlines(): void {
    const now = this.deps.clock.now();
    for (const child of this.children) {
      if (child.killedFor) continue;
      for (const running of child.running.values()) {
        if (running.deadline > now) continue;
        child.killedFor = running;
        const { job, plan } = fromWire(running.wire);
        this.deps.logger.error({ pid: child.proc.pid, id: job.id, job: job.name },
          `Job ${job.name} (id ${job.id}) ran past its timeout of ${plan.timeoutMs / 1000} s: killing worker process ${child.proc.pid}`);
        child.proc.kill('SIGKILL');
        break;
      }
    }
  }

  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    this.children.delete(child);
    const diedWithJobs = child.running.size > 0;
    const crashed = signal !== null || (code !== 0 && code !== 12);
    // Record what it left running while its replacement starts: a server that is down right now
    // must not keep the other jobs waiting for a process.
    this.settling++;
    void this.settle(child, code, signal)
      .catch((error: unknown) => {
        this.deps.logger.error({ err: coerceError(error) }, 'Could not record the jobs of a stopped worker process; their leases will bring them back');
      })
      .finally(() => {
        this.settling--;
        const live = [...this.children][0];
        if (live) for (const hook of this.pendingHooks.splice(0)) this.send(live, hook);
        this.maybeDone();
      });
    const pid = child.proc.pid;
    if (code === 2 && this.watcher && !child.ready && !this.stopping) {
      // --watch: a job file that does not load (its error is above); wait for the next change.
      if (!child.retired) this.deps.logger.error('The job files do not load: fix them and save; running workers keep the code they have');
    } else if (code === 2) {
      // Bad configuration or a job module that does not load: restarting would only repeat it.
      this.exitCode = 2;
      this.stop();
    } else if (this.stopping || child.retired) {
      // stopping: nothing to restart
    } else if (child.killedFor || child.reason === 'memory' || (child.reason === 'max-jobs' && this.options.recycleAfter > 0)) {
      this.spawn();
    } else if (crashed && diedWithJobs) {
      // Died under its jobs (killed from outside, a crash in job code): their attempts are
      // counted, so `tries` already bounds a job that kills every process. Replace it now.
      this.deps.logger.error({ pid, code, signal }, `Worker process ${pid} died (${signal ?? `code ${code}`}) while running jobs; starting another`);
      this.spawn();
    } else if (crashed) {
      // Died with no job running (a broken environment?): restart, slower when it keeps happening.
      const now = this.deps.clock.now();
      this.crashes = [...this.crashes.filter((t) => now - t < 30_000), now];
      const delay = Math.min(100 * 2 ** (this.crashes.length - 1), 5_000);
      this.deps.logger.error({ pid, code, signal }, `Worker process ${pid} exited unexpectedly (${signal ?? `code ${code}`}); starting another in ${delay / 1000} s`);
      const timer = setTimeout(() => {
        this.restarts.delete(timer);
        if (!this.stopping) this.spawn();
        this.maybeDone();
      }, delay);
      this.restarts.add(timer);
    } else if (!this.oneShot) {
      this.spawn();
    }
    this.maybeDone();
  }

  /** Records what a stopped process left running: the attempt that was killed, and the others. */
  private async settle(child: Child, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const { driver, clock, logger } = this.deps;
    // A process that exits without saying it stopped died under its jobs (a crash, a stray
    // process.exit(), the OOM killer): their attempt counts, as the job's own may be the cause.
    const died = !child.killedFor && child.reason === null;
    for (const running of child.running.values()) {
      const { job, plan } = fromWire(running.wire);
      const fields = attemptFields(job, clock.now() - running.startedAt);
      if (running === child.killedFor || died) {
        const why = running === child.killedFor
          ? new TimeoutError(`Job "${job.name}" (id ${job.id}) ran past its timeout of ${plan.timeoutMs / 1000} s and was stopped by killing its worker process`)
          : new Error(`The worker process running job "${job.name}" (id ${job.id}) died (${signal ?? `exit code ${code}`})`);
        if (plan.final) {
          if (await throughOutage(() => driver.fail(job, { exception: describeFailure(why) }), clock)) {
            logger.error({ ...fields, status: 'FAIL', err: why.message }, `Job failed: ${job.name} (after ${job.attempts} attempts): ${why.message}`);
            this.pendingHooks.push({ type: 'failed-hook', job, exception: describeFailure(why) });
          }
        } else if (await throughOutage(() => driver.release(job, { at: clock.now() + plan.backoffMs, countAttempt: true }), clock)) {
          logger.warn({ ...fields, status: 'RETRY', err: why.message }, `Job retry: ${job.name} (attempt ${job.attempts} failed: ${why.message})`);
        }
      } else if (await throughOutage(() => driver.release(job, { at: clock.now(), countAttempt: false }), clock)) {
        // An innocent bystander of a killed process: back to the queue, attempt not counted.
        logger.warn({ ...fields, status: 'RELEASED' }, `Job released: ${job.name} (its worker process was stopped)`);
      }
    }
    child.running.clear();
  }

  private maybeDone(): void {
    if (this.watcher && !this.stopping && !this.oneShot) return; // --watch waits for the next change
    if (this.children.size === 0 && this.restarts.size === 0 && this.settling === 0) {
      if (this.pendingHooks.length > 0 && !this.stopping) {
        // A failed() hook is owed and no process is left to run it: start one for the hook.
        this.spawn();
        return;
      }
      this.done?.();
    }
  }
}
