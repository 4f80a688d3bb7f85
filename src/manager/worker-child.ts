/**
 * One worker process as the manager sees it: forked from the rakit binary, the attempts it
 * reported running (each with its kill deadline: timeout + KILL_GRACE_MS), what it was asked
 * and what it said, and the ways the manager may stop it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { BIN, WORKER_ARG, wire, type ManagerMessage, type WireAttempt } from './ipc.ts';
import { KILL_GRACE_MS } from '../worker/job-policy.ts';
import type { StopReason, WorkerOptions } from '../worker/worker-options.ts';
import type { Logger } from '../infra/logger.ts';

/**
 * max_job: a process that has run its jobs is replaced once it has also worked this many times
 * as long as it took to start. A start costs a core for a while; without this floor, a process
 * whose jobs take milliseconds would be replaced every few claims, and starting successors would
 * take a core for the whole run (on 2 cores the shipped config ran 1.5-2.5x slower than without
 * recycling). With it, replacing processes costs about a tenth of a core at most.
 */
export const RECYCLE_LIFE = recycleLife(process.env.RAKIT_RECYCLE_LIFE);

/** RAKIT_RECYCLE_LIFE overrides it (0: replace right at max_job, as for leaky jobs of milliseconds). */
function recycleLife(setting: string | undefined): number {
  const value = setting === undefined || setting === '' ? NaN : Number(setting);
  return Number.isFinite(value) && value >= 0 ? value : 10;
}

export interface Running {
  wire: WireAttempt;
  startedAt: number;
  /** When its process is killed if its code still runs; Infinity once its code has ended. */
  deadline: number;
  /** Its code succeeded: if its process dies and the manager finds it acked, it counts as done. */
  succeeded?: boolean;
  /** Cancelled (manager-cancels.ts): however its process ends, it is recorded cancelled. */
  cancelled?: boolean;
}

/** A failed() hook the manager owes for a job it settled; `sends`: how many processes it went to. */
export interface OwedHook {
  message: Extract<ManagerMessage, { type: 'failed-hook' | 'job-event' }>;
  sends: number;
}

export class WorkerChild {
  readonly proc: ChildProcess;
  readonly running = new Map<string, Running>();
  /** The attempt it was killed for, if the manager killed it at a timeout. */
  killedFor: Running | null = null;
  /** Killed by a forced stop. */
  forceKilled = false;
  /** Asked to stop for --memory. */
  overMemory = false;
  /** Why it stopped, once it said so. */
  reason: StopReason | null = null;
  /** It has loaded the job files. */
  ready = false;
  /** It said it ends on bad usage or configuration. */
  fatal = false;
  /** Asked to stop because a successor or a newer generation took over: not replaced when it exits. */
  retired = false;
  /** Its successor (max_job) has been started, or is waiting for RECYCLE_LIFE. */
  succeeded = false;
  /** Cancels the successor's wait (on exit). */
  cancelSuccessor: (() => void) | null = null;
  private readonly spawnedAt = performance.now();
  private readyAt: number | null = null;
  /** It was asked to stop (it may be past running new failed() hooks). */
  stopSent = false;
  /** Attempts it finished, as it last said (a retried one counts as failed). */
  counts = { done: 0, failed: 0 };

  /** Its beat: its counts, and a stop once it is over `memoryMb` (0: no limit, or the run is stopping anyway). */
  beat(beat: { done: number; failed: number; rss: number }, memoryMb: number, logger: Pick<Logger, 'warn'>): void {
    this.counts = { done: beat.done, failed: beat.failed };
    // Once per process: a second `stop` would not be needed, and it must never turn into a force.
    if (memoryMb > 0 && beat.rss > memoryMb * 1024 * 1024 && !this.overMemory) {
      logger.warn({ childPid: this.proc.pid, rss: beat.rss }, `Worker process ${this.proc.pid} is over --memory; replacing it after its running jobs`);
      this.send({ type: 'stop', reason: 'memory' });
      this.overMemory = true;
    }
  }
  /** The failed() hooks sent to it and not yet reported run, by id. */
  readonly hooks = new Map<number, OwedHook>();

  /** Whom its claims are made for: if it dies, what it still holds is given back (Driver.releaseOwned). */
  readonly owner = `w${randomBytes(6).toString('hex')}`;

  /** `generation`: of the job files (--watch); `replaces`: the process it takes over from once it has loaded. */
  constructor(options: WorkerOptions, readonly generation: number, readonly replaces: WorkerChild | null) {
    const env = { ...process.env, RAKIT_WORKER: JSON.stringify({ ...options, owner: this.owner }) };
    this.proc = fork(BIN, [WORKER_ARG], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  /** It has loaded its job files and said so. */
  markReady(): void {
    this.ready = true;
    this.readyAt = performance.now();
  }

  /** How long its successor waits once it has run max_job jobs: until it has worked RECYCLE_LIFE times its start. */
  successorWait(): number {
    const now = performance.now();
    const ready = this.readyAt ?? now;
    return Math.max(0, ready + RECYCLE_LIFE * (ready - this.spawnedAt) - now);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(message: ManagerMessage): void {
    if (message.type === 'stop' || message.type === 'force') this.stopSent = true;
    if (this.proc.connected) this.proc.send(message, (error) => void error);
  }

  /** Has it run `hook`, which it will report (`hook-done`); if it exits first, the hook is owed again. */
  runHook(hook: OwedHook): void {
    hook.sends++;
    this.hooks.set(hook.message.id, hook);
    this.send(hook.message);
  }

  /** It has loaded its job files and was not asked to stop: a failed() hook sent now will run. */
  get takesHooks(): boolean {
    return this.ready && !this.stopSent && !this.exited;
  }

  /** Stops it after its running jobs, for good (`reason`: why, for its summary). */
  retire(reason: StopReason): void {
    if (this.retired) return;
    this.retired = true;
    this.send({ type: 'stop', reason });
  }

  /**
   * What it reported: attempts whose code ended (no deadline any more, but still its own until
   * their outcome is recorded, in case it dies), attempts ended, attempts about to start.
   */
  noteAttempts(finished: readonly string[], succeeded: readonly string[], ended: readonly (readonly [string, unknown])[], started: readonly WireAttempt[], now: number): void {
    for (const id of finished) {
      const running = this.running.get(id);
      if (running) running.deadline = Infinity;
    }
    for (const id of succeeded) {
      const running = this.running.get(id);
      if (running) running.succeeded = true;
    }
    for (const [id] of ended) this.running.delete(id);
    for (const w of started) this.running.set(wire.id(w), { wire: w, startedAt: now, deadline: now + wire.timeoutMs(w) + KILL_GRACE_MS });
  }

  /** An attempt past its kill deadline, unless it is being killed already. */
  overdue(now: number): Running | null {
    if (this.killedFor || this.forceKilled) return null;
    for (const running of this.running.values()) if (running.deadline <= now) return running;
    return null;
  }

  kill(forTimeout: Running | null): void {
    if (forTimeout) this.killedFor = forTimeout;
    else this.forceKilled = true;
    this.proc.kill('SIGKILL');
  }

  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
}
