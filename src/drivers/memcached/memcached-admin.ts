/**
 * The `memcached` driver's Jobs and Locks pages (admin-store.ts), on the driver's own keys and
 * primitives (memcached.ts):
 * - Jobs: a walk along each queue's log (memcached-log.ts) reading records, leases and attempts.
 *   A cancel takes the job's lease first, as a claim does (`add`, or CAS on a lapsed one), so one
 *   of them wins; run-now moves a scheduled record's due time by CAS.
 * - Locks: memcached cannot list keys, so the held overlap keys are found from the jobs that
 *   name one (`P:ovl:<sha1>` still holding that job's id).
 * Best effort like the rest of the driver: memcached may evict any of these under memory
 * pressure and forgets them on restart.
 */
import { randomBytes } from 'node:crypto';
import type { BrowsableQueue, JobPage, JobQuery, JobSummary, LockBrowser, OverlapLock } from '../../store/admin-store.ts';
import type { Clock } from '../../infra/clock.ts';
import { jobState } from '../../store/job-view.ts';
import { LANE_SEPARATOR } from '../../store/claims/lanes.ts';
import { pageJobs, type PendingRef } from '../admin-shared.ts';
import { leaseUntil, parseRecord, type JobRecord } from './memcached-claim.ts';
import type { Memcached } from './memcached-client.ts';
import type { MemcachedLog } from './memcached-log.ts';

const ID = /^\d{1,15}$/;

/** What the dashboard's steps need of the driver. */
export interface MemcachedAdminQueue {
  readonly clock: Clock;
  open(): Promise<void>;
  queueNames(): Promise<string[]>;
  /** The key of an overlap key's holder. */
  overlapKey(key: string): string;
  /** Forgets a job that is done with: its record, attempts and overlap key. */
  finish(job: { id: string; overlapKey: string | null }): Promise<void>;
}

/** A pending job as the store has it, judged at a time. */
export interface MemcachedRef extends PendingRef {
  record: JobRecord;
  attempts: number;
  reservedUntil: number | null;
}

export class MemcachedAdmin implements BrowsableQueue, LockBrowser {
  constructor(private readonly mc: Memcached, private readonly logs: MemcachedLog, private readonly queue: MemcachedAdminQueue) {}

  /** Every pending job of `queue` (or all), judged at `now`. */
  async refs(queue: string | null, now: number): Promise<MemcachedRef[]> {
    const { mc } = this;
    const refs: MemcachedRef[] = [];
    for (const q of queue !== null ? [queue] : await this.queue.queueNames()) {
      const { entries } = await this.logs.slots(`q:${q}`, 100_000);
      const ids = [...new Set(entries.map(([, id]) => id).filter((id): id is string => !!id))];
      const [records, leases, attempts] = await Promise.all(['job', 'lease', 'att'].map((kind) => mc.getMany(ids.map((id) => mc.key(kind, id)))));
      for (const id of ids) {
        const text = records!.get(mc.key('job', id));
        if (text !== undefined) refs.push(this.ref(id, q, text, leases!.get(mc.key('lease', id)), attempts!.get(mc.key('att', id)), now));
      }
    }
    return refs;
  }

  private ref(id: string, queue: string, text: string, lease: string | undefined, attempts: string | undefined, now: number): MemcachedRef {
    const record = parseRecord(text, id, queue);
    const until = lease === undefined ? null : leaseUntil(lease);
    const state = jobState(record.sched, until, now);
    return { id, queue, state, scheduledAt: record.sched, record, attempts: Number(attempts ?? 0), reservedUntil: state === 'reserved' ? until : null };
  }

  private summary(ref: MemcachedRef): JobSummary {
    const { record } = ref;
    return {
      id: ref.id, name: record.name, queue: ref.queue, payload: record.payload, attempts: ref.attempts, scheduledAt: record.sched,
      createdAt: record.created, overlapKey: record.okey, state: ref.state, reservedUntil: ref.reservedUntil,
    };
  }

  async listJobs(query: JobQuery): Promise<JobPage> {
    await this.queue.open();
    // A queue's groups are lanes of their own (store/claims/lanes.ts): a queue's page reads every lane, pageJobs keeps its own.
    return pageJobs(await this.refs(query.queue?.includes(LANE_SEPARATOR) ? query.queue : null, this.queue.clock.now()), query, async (ref) => this.summary(ref));
  }

  async getJob(id: string): Promise<JobSummary | null> {
    await this.queue.open();
    if (!ID.test(id)) return null;
    const { mc } = this;
    const text = await mc.get(mc.key('job', id));
    if (text === undefined) return null;
    const [lease, attempts] = [await mc.get(mc.key('lease', id)), await mc.get(mc.key('att', id))];
    return this.summary(this.ref(id, parseRecord(text, id, '').queue, text, lease, attempts, this.queue.clock.now()));
  }

  async cancelJob(id: string): Promise<boolean> {
    await this.queue.open();
    if (!ID.test(id)) return false;
    const { mc } = this;
    const now = this.queue.clock.now();
    const key = mc.key('lease', id);
    const mine = `cancel-${randomBytes(4).toString('hex')} ${Number.MAX_SAFE_INTEGER}`;
    if ((await mc.get(mc.key('job', id))) === undefined) return false;
    // The job's lease, taken as a claim takes it: a live one means a worker holds the job.
    const won = (await mc.add(key, mine, 60)) || (await mc.swap(key, (v) => (leaseUntil(v) <= now ? mine : null), 60));
    if (!won) return false;
    const text = await mc.get(mc.key('job', id));
    if (text !== undefined) await this.queue.finish({ id, overlapKey: parseRecord(text, id, '').okey });
    await mc.deleteIf(key, (v) => v === mine);
    return text !== undefined;
  }

  async runJobNow(id: string): Promise<boolean> {
    await this.queue.open();
    if (!ID.test(id)) return false;
    const { mc } = this;
    const now = this.queue.clock.now();
    const lease = await mc.get(mc.key('lease', id));
    if (lease !== undefined && leaseUntil(lease) > now) return false;
    return mc.swap(mc.key('job', id), (text) => {
      const record = parseRecord(text, id, '');
      return record.sched > now ? JSON.stringify({ ...record, sched: now }) : null;
    });
  }

  async listOverlapLocks(): Promise<OverlapLock[]> {
    await this.queue.open();
    const holding = (await this.refs(null, this.queue.clock.now())).filter((r) => r.record.okey !== null);
    const holders = await this.mc.getMany(holding.map((r) => this.queue.overlapKey(r.record.okey!)));
    return holding
      .filter((r) => holders.get(this.queue.overlapKey(r.record.okey!)) === r.id)
      .map((r) => ({ key: r.record.okey!, jobId: r.id, name: r.record.name, queue: r.queue, state: r.state, since: r.record.created }))
      .sort((a, b) => a.since - b.since || a.key.localeCompare(b.key));
  }

  async releaseOverlapLock(key: string): Promise<boolean> {
    await this.queue.open();
    const k = this.queue.overlapKey(key);
    const holder = await this.mc.get(k);
    return holder !== undefined && this.mc.deleteIf(k, (v) => v === holder);
  }
}
