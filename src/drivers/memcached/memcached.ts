/**
 * The `memcached` driver (memcache-client), built from atomic primitives only (memcached-client.ts):
 * `add` (create if absent), `incr`, and `gets` + `cas` (compare-and-swap). No shared value is
 * ever read, changed and written back unguarded (the records' index is changed by gets + cas).
 *
 * Layout under prefix P:
 *   P:seq                       job id counter (incr)
 *   P:job:<id>                  the job record (JSON), written once; CAS for a retry's new due time
 *   P:att:<id>                  attempts (incr at claim)
 *   P:lease:<id>                `<token> <until>`: created by `add` (one claimer wins), with a TTL;
 *                               a lapsed one is taken over by CAS (memcached-claim.ts)
 *   P:ovl:<sha1 of key>         overlap key → holding job id (`add`)
 *   P:q:<queue>:tail / :slot:<n> / :head   the queue as an append-only log (memcached-log.ts)
 *   P:queues:* and P:failed:*   the queue list and the failed store (memcached-failed.ts), logs the same way
 *   P:rec:*, P:recs:*           the record store (memcached-records.ts), which also keeps paused
 *                               queues, workers, metrics and the restart signal (store-services.ts)
 * Jobs are stored, one or many at a time, by memcached-push.ts.
 *
 * Best effort, and said so at worker start: memcached forgets everything on restart and may
 * evict keys under memory pressure, so jobs can be lost. Within that, claims are atomic and a
 * job runs at least once while its records survive.
 */
import { EVERY_FAILURE } from '../../store/failed/failed-view.ts';
import { randomBytes } from 'node:crypto';
import type { MemcacheClient } from 'memcache-client';
import { createMemcacheClient } from './memcached-connection.ts';
import type { Clock } from '../../infra/clock.ts';
import type {
  Backend, Failure, NewJob, PushResult, QueueStats, ReleaseOptions, ReserveRequest, ReservedJob,
} from '../../store/driver.ts';
import { ownedBy } from '../../store/driver.ts';
import { QueueTurns, reserveInOrder, type ListsQueues } from '../../store/claims/queue-policy.ts';
import { jobState } from '../../store/job-view.ts';
import { LazyOpen } from '../lazy-open.ts';
import { MemcachedAdmin, type MemcachedAdminQueue } from './memcached-admin.ts';
import { MemcachedClaims, leaseUntil, parseRecord } from './memcached-claim.ts';
import { Memcached, TOMBSTONE } from './memcached-client.ts';
import { MemcachedFailedStore, type MemcachedQueue } from './memcached-failed.ts';
import { MemcachedLog } from './memcached-log.ts';
import { overlapKeyOf, pushJobs } from './memcached-push.ts';
import { MemcachedRecords } from './memcached-records.ts';
import { hasDueFromStats } from '../shared.ts';
import { ForwardsToParts, type StoreParts } from '../store-parts.ts';

export const MEMCACHED_WARNING =
  'memcached driver: best effort — jobs are lost if memcached restarts or evicts them under memory pressure; use database or redis for jobs that must not be lost';

export class MemcachedDriver extends ForwardsToParts implements Backend, ListsQueues, MemcachedQueue, MemcachedAdminQueue {
  readonly description: string;
  readonly warning = MEMCACHED_WARNING;
  private readonly client: MemcacheClient;
  private readonly mc: Memcached;
  private readonly logs: MemcachedLog;
  private readonly claims: MemcachedClaims;
  private readonly failed: MemcachedFailedStore;
  protected readonly parts: StoreParts;
  private readonly opened: LazyOpen;
  private readonly registered = new Set<string>();
  private readonly turns: QueueTurns;

  constructor(servers: string, prefix: string, readonly clock: Clock) {
    super();
    this.description = `memcached (${servers})`;
    this.turns = new QueueTurns(this, () => clock.now());
    this.client = createMemcacheClient(servers);
    this.mc = new Memcached(this.client, prefix);
    this.logs = new MemcachedLog(this.mc);
    this.claims = new MemcachedClaims(this.mc, this.logs, clock);
    this.failed = new MemcachedFailedStore(this.mc, this.logs, this);
    const admin = new MemcachedAdmin(this.mc, this.logs, this);
    this.parts = { jobs: admin, locks: admin, failed: this.failed, records: new MemcachedRecords(this.mc, clock) };
    this.opened = new LazyOpen(async () => {
      await this.client.version();
    }, { what: `reach memcached at ${servers}`, fix: 'start memcached or fix MEMCACHED_SERVERS / application/config/job.ts' });
  }

  open(): Promise<void> {
    return this.opened.open();
  }

  private async registerQueue(queue: string): Promise<void> {
    if (this.registered.has(queue)) return;
    if ((await this.mc.get(this.mc.key('queue', queue))) === undefined) {
      await this.logs.append('queues', queue);
      await this.mc.add(this.mc.key('queue', queue), '1');
    }
    this.registered.add(queue);
  }

  async queueNames(): Promise<string[]> {
    const { entries } = await this.logs.slots('queues', 100_000);
    return [...new Set(entries.map(([, v]) => v).filter((v): v is string => !!v))].sort();
  }

  async push(job: NewJob): Promise<PushResult> {
    return (await this.pushMany([job]))[0]!;
  }

  async pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> {
    if (jobs.length === 0) return [];
    await this.open();
    return pushJobs(this.mc, this.clock, jobs, (queue) => this.registerQueue(queue));
  }

  overlapKey(key: string): string {
    return overlapKeyOf(this.mc, key);
  }

  private async dropOverlap(key: string | null, id: string): Promise<void> {
    if (key !== null) await this.mc.deleteIf(this.overlapKey(key), (v) => v === id);
  }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    await this.open();
    return reserveInOrder(this, request, this.turns);
  }

  claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]> {
    return this.claims.claimFrom(queue, limit, request);
  }

  /** Ends `job`'s lease if it still holds it: the lease becomes a tombstone until `done` has run. */
  private async ending(job: Pick<ReservedJob, 'id' | 'token'>, done: () => Promise<void>): Promise<boolean> {
    const key = this.mc.key('lease', job.id);
    if (!(await this.mc.swap(key, (v) => (v.split(' ')[0] === job.token ? TOMBSTONE : null), 60))) return false;
    await done();
    await this.mc.delete(key);
    return true;
  }

  async ack(job: ReservedJob): Promise<boolean> {
    return this.ending(job, () => this.finish(job));
  }

  /** Forgets a job that is done with: its record, attempts and overlap key. */
  async finish(job: { id: string; overlapKey: string | null }): Promise<void> {
    await this.mc.delete(this.mc.key('job', job.id));
    await this.mc.delete(this.mc.key('att', job.id));
    await this.dropOverlap(job.overlapKey, job.id);
  }

  async release(job: ReservedJob, options: ReleaseOptions): Promise<boolean> {
    return this.ending(job, async () => {
      await this.mc.swap(this.mc.key('job', job.id), (text) => JSON.stringify({ ...JSON.parse(text), sched: options.at }));
      if (!options.countAttempt) await this.client.decr(this.mc.key('att', job.id), 1).catch(() => undefined);
    });
  }

  /** A walk along each queue's log reading the leases; each job held for `owner` is given back by `release`, which checks its token. */
  async releaseOwned(owner: string): Promise<number> {
    await this.open();
    const { mc } = this;
    let released = 0;
    for (const queue of await this.queueNames()) {
      const { entries } = await this.logs.slots(`q:${queue}`, 100_000);
      const ids = [...new Set(entries.map(([, id]) => id).filter((id): id is string => !!id))];
      const leases = await mc.getMany(ids.map((id) => mc.key('lease', id)));
      for (const id of ids) {
        const token = leases.get(mc.key('lease', id))?.split(' ')[0];
        if (!token || !ownedBy(token, owner)) continue;
        if (await this.ending({ id, token }, () => this.client.decr(mc.key('att', id), 1).then(() => undefined, () => undefined))) released++;
      }
    }
    return released;
  }

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    return this.ending(job, async () => {
      await this.failed.add({
        id: job.id, name: job.name, queue: job.queue, payload: job.payload, sched: job.scheduledAt, created: job.createdAt,
        okey: job.overlapKey, attempts: job.attempts, exception: failure.exception, failedAt: this.clock.now(),
      });
      await this.finish(job);
    });
  }

  hasDue(queues: readonly string[] | null): Promise<boolean> {
    return hasDueFromStats(this, queues);
  }

  async stats(): Promise<QueueStats[]> {
    await this.open();
    const { mc } = this;
    const now = this.clock.now();
    const byQueue = new Map<string, QueueStats>();
    const entry = (queue: string) => {
      let s = byQueue.get(queue);
      if (!s) byQueue.set(queue, (s = { queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 }));
      return s;
    };
    for (const queue of await this.queueNames()) {
      const { entries } = await this.logs.slots(`q:${queue}`);
      const ids = entries.map(([, id]) => id).filter((id): id is string => !!id);
      const records = await mc.getMany(ids.map((id) => mc.key('job', id)));
      const leases = await mc.getMany(ids.map((id) => mc.key('lease', id)));
      for (const id of ids) {
        const text = records.get(mc.key('job', id));
        if (text === undefined) continue;
        const lease = leases.get(mc.key('lease', id));
        entry(queue)[jobState(parseRecord(text, id, queue).sched, lease === undefined ? null : leaseUntil(lease), now)]++;
      }
    }
    for (const [queue, n] of Object.entries((await this.countFailed(EVERY_FAILURE)).byQueue)) entry(queue).failed += n;
    return [...byQueue.values()].filter((s) => s.ready + s.scheduled + s.reserved + s.failed > 0).sort((a, b) => a.queue.localeCompare(b.queue));
  }

  async clear(queue: string | null): Promise<number> {
    await this.open();
    let n = 0;
    const token = `clear-${randomBytes(4).toString('hex')}`;
    for (const q of queue === null ? await this.queueNames() : [queue]) {
      const { entries } = await this.logs.slots(`q:${q}`, 100_000);
      for (const [, id] of entries) {
        if (!id) continue;
        const text = await this.mc.get(this.mc.key('job', id));
        if (text === undefined) continue;
        // Take the job's lease first, so no worker can claim it while it is being dropped.
        if (!(await this.mc.add(this.mc.key('lease', id), `${token} ${Number.MAX_SAFE_INTEGER}`, 60))) continue;
        await this.finish({ id, overlapKey: parseRecord(text, id, q).okey });
        await this.mc.delete(this.mc.key('lease', id));
        n++;
      }
    }
    return n;
  }


  async close(): Promise<void> {
    this.client.shutdown();
  }
}
