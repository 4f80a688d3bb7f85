/**
 * The hooks the process manager owes: it settles the jobs an exited process left running, but
 * never runs job code itself, so each hook (a failed() hook, or the Job.on listeners of an
 * outcome) goes to a live worker process. Each is recorded in the store (the `records`
 * capability, namespace `owed-hook`) before it is handed over and removed once a process reports
 * it run, so it runs at least once whatever happens to its carrier or to the manager: a hook whose
 * process exits first is owed again, to one other process at most (two for a job event), and one
 * still recorded HANDOVER_MS after it was written (its manager was killed) is run by the next
 * manager that starts on the store.
 */
import type { ReservedJob } from '../store/driver.ts';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import type { RecordStore } from '../store/record-store.ts';
import { errorToWire, type Settled } from '../worker/settle.ts';
import type { OwedHook, WorkerChild } from './worker-child.ts';

/**
 * How many processes a hook may go to. A job event goes to one more: in a crash loop the process
 * it went to is often the one the same job brings down before it has read the message.
 */
const MAX_SENDS: Record<OwedHook['message']['type'], number> = { 'failed-hook': 2, 'job-event': 3 };

const NAMESPACE = 'owed-hook';
/** A recorded hook this old is taken to be lost with its manager: a live one hands hooks over within seconds. */
export const HANDOVER_MS = 30_000;
/** How long a recorded hook is kept at most. */
const KEEP_MS = 7 * 24 * 3_600_000;

interface Recorded {
  message: OwedHook['message'];
  /** When it was recorded (epoch ms). */
  at: number;
}

export class OwedHooks {
  /** Owed and not sent to a process yet. */
  private pending: OwedHook[] = [];
  private ids = 0;
  private readonly records: RecordStore | null;
  /** Each hook's record id, by hook id. */
  private readonly recordIds = new Map<number, string>();
  private readonly run = `${process.pid}-${Date.now().toString(36)}`;

  constructor(private readonly logger: Logger, store: RecordStore | null, private readonly now: () => number = Date.now) {
    this.records = store;
  }

  get any(): boolean {
    return this.pending.length > 0;
  }

  /** The failed() hook of a job the manager failed: recorded, then owed. */
  owe(job: ReservedJob, error: Error): Promise<void> {
    return this.add({ type: 'failed-hook', id: ++this.ids, job, error: errorToWire(error) });
  }

  /** The Job.on() listeners of an outcome the manager recorded (job-events.ts), owed as a hook is. */
  async oweEvent(job: ReservedJob, settled: Settled, ms: number, error: Error | null): Promise<void> {
    if (settled.kind === 'lost') return;
    await this.add({ type: 'job-event', id: ++this.ids, job, settled, ms, error: error && errorToWire(error) });
  }

  private async add(message: OwedHook['message']): Promise<void> {
    const recordId = `${this.run}-${message.id}`;
    try {
      await this.records?.casRecord(NAMESPACE, recordId, null, JSON.stringify({ message, at: this.now() } satisfies Recorded), KEEP_MS);
      this.recordIds.set(message.id, recordId);
    } catch (error) {
      this.logger.warn({ err: coerceError(error), id: message.job.id, job: message.job.name }, `Could not record the hook owed for job ${message.job.name} (id ${message.job.id}); it is owed from memory only`);
    }
    this.pending.push({ message, sends: 0 });
  }

  /**
   * Takes over the hooks recorded by managers that are gone (recorded HANDOVER_MS ago or more),
   * each by a compare-and-set, so two managers starting together do not both run one.
   */
  async recover(): Promise<void> {
    if (!this.records) return;
    try {
      for (const record of await this.records.listRecords(NAMESPACE, 1000)) {
        const recorded = JSON.parse(record.value) as Recorded;
        if (this.now() - recorded.at < HANDOVER_MS) continue;
        const message = { ...recorded.message, id: ++this.ids };
        const recordId = `${this.run}-${message.id}`;
        if (!(await this.records.deleteRecord(NAMESPACE, record.id, record.version))) continue;
        await this.records.casRecord(NAMESPACE, recordId, null, JSON.stringify({ message, at: this.now() } satisfies Recorded), KEEP_MS);
        this.recordIds.set(message.id, recordId);
        this.pending.push({ message, sends: 0 });
        this.logger.info({ id: message.job.id, job: message.job.name }, `Running the ${message.type === 'failed-hook' ? 'failed() hook' : 'Job.on() listeners'} of job ${message.job.name} (id ${message.job.id}) that a stopped manager owed`);
      }
    } catch (error) {
      this.logger.warn({ err: coerceError(error) }, 'Could not read the hooks owed by stopped managers; the next run will try again');
    }
  }

  /** A process reported the hook run: its record goes. */
  ran(hook: OwedHook | undefined): void {
    if (!hook) return;
    this.forget(hook.message.id);
  }

  /**
   * An exited process: the hooks it did not report run are owed again, once. One that stopped as
   * asked ran every hook it had read before it said so: those it did not report came too late to
   * be started, and that send does not count.
   */
  takeBack(child: WorkerChild): void {
    const unread = child.reason !== null && child.proc.signalCode === null;
    for (const hook of child.hooks.values()) {
      if (unread) hook.sends--;
      if (hook.sends < MAX_SENDS[hook.message.type]) this.pending.push(hook);
      else this.drop(hook, 'its worker processes exited first');
    }
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

  /** The run was forced to stop: the hooks stay recorded, for the next manager. */
  dropAll(why: string): void {
    for (const { message: { job, type } } of this.pending.splice(0)) {
      this.logger.warn({ id: job.id, job: job.name }, `The ${type === 'failed-hook' ? 'failed() hook' : 'Job.on() listeners'} of job ${job.name} (id ${job.id}) did not run: ${why}; the next manager started on this store runs it`);
    }
  }

  private drop(hook: OwedHook, why: string): void {
    const { message: { job, type } } = hook;
    this.forget(hook.message.id);
    if (type === 'job-event') return this.logger.warn({ id: job.id, job: job.name }, `The Job.on() listeners of job ${job.name} (id ${job.id}) were not told of its outcome: ${why}`);
    this.logger.error({ id: job.id, job: job.name }, `The failed() hook of job ${job.name} (id ${job.id}) did not run: ${why}`);
  }

  private forget(id: number): void {
    const recordId = this.recordIds.get(id);
    if (recordId === undefined) return;
    this.recordIds.delete(id);
    void this.records?.deleteRecord(NAMESPACE, recordId).catch((error: unknown) =>
      this.logger.warn({ err: coerceError(error) }, 'Could not remove the record of a hook that ran; the next manager may run it again'));
  }
}
