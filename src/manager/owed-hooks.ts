/**
 * The hooks the process manager owes: it settles the jobs an exited process left running, but
 * never runs job code itself, so each hook (a failed() hook, or the Job.on listeners of an
 * outcome) goes to a live worker process. A hook whose process exits before reporting it run is
 * owed again, to one other process at most (two for a job event).
 */
import type { ReservedJob } from '../store/driver.ts';
import type { Logger } from '../infra/logger.ts';
import { errorToWire, type Settled } from '../worker/settle.ts';
import type { OwedHook, WorkerChild } from './worker-child.ts';

/**
 * How many processes a hook may go to. A job event goes to one more: in a crash loop the process
 * it went to is often the one the same job brings down before it has read the message.
 */
const MAX_SENDS: Record<OwedHook['message']['type'], number> = { 'failed-hook': 2, 'job-event': 3 };

export class OwedHooks {
  /** Owed and not sent to a process yet. */
  private pending: OwedHook[] = [];
  private ids = 0;

  constructor(private readonly logger: Logger) {}

  get any(): boolean {
    return this.pending.length > 0;
  }

  /** The failed() hook of a job the manager failed. */
  owe(job: ReservedJob, error: Error): void {
    this.pending.push({ message: { type: 'failed-hook', id: ++this.ids, job, error: errorToWire(error) }, sends: 0 });
  }

  /** The Job.on() listeners of an outcome the manager recorded (job-events.ts), owed as a hook is. */
  oweEvent(job: ReservedJob, settled: Settled, ms: number, error: Error | null): void {
    if (settled.kind === 'lost') return;
    this.pending.push({ message: { type: 'job-event', id: ++this.ids, job, settled, ms, error: error && errorToWire(error) }, sends: 0 });
  }

  /** An exited process: the hooks it did not report run are owed again, once. */
  takeBack(child: WorkerChild): void {
    for (const hook of child.hooks.values()) if (hook.sends < MAX_SENDS[hook.message.type]) this.pending.push(hook); else this.drop(hook, 'its worker processes exited first');
  }

  /** Sends every owed hook to `child`. */
  sendTo(child: WorkerChild): void {
    for (const hook of this.pending.splice(0)) child.runHook(hook);
  }

  /** Sends the owed hooks to a process that will run them, if there is one. */
  sendToAny(children: Iterable<WorkerChild>): void {
    if (this.pending.length === 0) return;
    const target = [...children].find((child) => child.takesHooks);
    if (target) this.sendTo(target);
  }

  dropAll(why: string): void {
    for (const hook of this.pending.splice(0)) this.drop(hook, why);
  }

  private drop({ message: { job, type } }: OwedHook, why: string): void {
    if (type === 'job-event') return this.logger.warn({ id: job.id, job: job.name }, `The Job.on() listeners of job ${job.name} (id ${job.id}) were not told of its outcome: ${why}`);
    this.logger.error({ id: job.id, job: job.name }, `The failed() hook of job ${job.name} (id ${job.id}) did not run: ${why}`);
  }
}
