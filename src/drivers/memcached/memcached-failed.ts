/**
 * The `memcached` driver's failed store behind `job:failed`, `job:forget`, `job:flush` and
 * `job:retry` (store-services.ts): `P:failed:job:<id>` holds a failed job's record, listed in the
 * append-only `failed` log (memcached-log.ts). Best effort like the rest: memcached may evict them.
 * memcached has no transactions: a requeue holds the id (`add`, so of two callers one wins), pushes
 * the job, then forgets the failed one; a crash between leaves it in both, never in neither, as a
 * failure does.
 */
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, NewJob, PushResult, Requeued } from '../../store/driver.ts';
import { countFailedIn, pageFailed } from '../admin-shared.ts';
import type { Clock } from '../../infra/clock.ts';
import type { JobRecord } from './memcached-claim.ts';
import { code, type Memcached } from './memcached-client.ts';
import type { MemcachedLog } from './memcached-log.ts';

const ID = /^\d{1,15}$/;

export interface FailedRecord extends JobRecord {
  attempts: number;
  exception: string;
  failedAt: number;
}

/** What the failed store needs of the driver. */
export interface MemcachedQueue {
  readonly clock: Clock;
  open(): Promise<void>;
  push(job: NewJob): Promise<PushResult>;
}

/** How long a requeue holds a failed id against a second caller. */
const REQUEUE_HOLD_S = 60;

export class MemcachedFailedStore implements FailedStore {
  constructor(private readonly mc: Memcached, private readonly logs: MemcachedLog, private readonly queue: MemcachedQueue) {}

  /** Keeps a failed job. Written before the job is forgotten: a crash between leaves it in both, never in neither. */
  async add(record: FailedRecord): Promise<void> {
    await this.mc.set(this.mc.key('failed', 'job', record.id), JSON.stringify(record));
    await this.logs.append('failed', record.id);
  }

  /** Every failed job the log lists that memcached still holds. */
  private async all(): Promise<FailedJob[]> {
    await this.queue.open();
    const { mc } = this;
    const { head, entries } = await this.logs.slots('failed', 100_000);
    const ids = [...new Set(entries.map(([, id]) => id).filter((id): id is string => !!id))];
    const records = await mc.getMany(ids.map((id) => mc.key('failed', 'job', id)));
    const out: FailedJob[] = [];
    for (const id of ids) {
      const text = records.get(mc.key('failed', 'job', id));
      if (text === undefined) continue;
      out.push(toFailed(id, JSON.parse(text) as FailedRecord));
    }
    const present = new Set(out.map((f) => f.id));
    await this.logs.advance('failed', head, (n) => !present.has(entries[n - head - 1]?.[1] ?? ''), entries.at(-1)?.[0] ?? head);
    return out;
  }

  async listFailed(query: FailedQuery): Promise<FailedPage> {
    return pageFailed(await this.all(), query);
  }

  async countFailed(filter: FailedFilter): Promise<FailedCounts> {
    return countFailedIn(await this.all(), filter);
  }

  async getFailed(id: string): Promise<FailedJob | null> {
    await this.queue.open();
    const text = ID.test(id) ? await this.mc.get(this.mc.key('failed', 'job', id)) : undefined;
    return text === undefined ? null : toFailed(id, JSON.parse(text) as FailedRecord);
  }

  async requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]> {
    const out: Requeued[] = [];
    for (const id of ids) out.push(await this.requeueOne(id, at));
    return out;
  }

  private async requeueOne(id: string, at: number): Promise<Requeued> {
    await this.queue.open();
    const hold = this.mc.key('failed', 'hold', id);
    if (!ID.test(id) || !(await this.mc.add(hold, '1', REQUEUE_HOLD_S))) return 'missing';
    try {
      const failed = await this.getFailed(id);
      if (!failed) return 'missing';
      const pushed = await this.queue.push({ name: failed.name, queue: failed.queue, payload: failed.payload, scheduledAt: at, overlapKey: failed.overlapKey });
      if (pushed.skipped) return 'overlapping';
      await this.forgetOne(id);
      return { jobId: pushed.id };
    } finally {
      await this.mc.delete(hold);
    }
  }

  async forgetFailed(ids: readonly string[]): Promise<boolean[]> {
    await this.queue.open();
    const out: boolean[] = [];
    for (const id of ids) out.push(await this.forgetOne(id));
    return out;
  }

  private async forgetOne(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    try {
      await this.mc.client.delete(this.mc.key('failed', 'job', id));
      return true;
    } catch (error) {
      if (code(error) === 'NOT_FOUND') return false;
      throw error;
    }
  }
}

function toFailed(id: string, r: FailedRecord): FailedJob {
  return { id, jobId: id, name: r.name, queue: r.queue, payload: r.payload, exception: r.exception, attempts: r.attempts, overlapKey: r.okey, failedAt: r.failedAt };
}
