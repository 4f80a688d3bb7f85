/**
 * The `redis` driver (ioredis): every multi-key step is one Lua script (redis-scripts.ts),
 * loaded once and run by EVALSHA. A queue's keys share one hash tag, so the driver works on
 * Redis Cluster. A worker's acks ride on its next claim from their queue (`reserveAfterAcks`):
 * one script call a turn instead of two. Idle workers wake on a pub/sub message (redis-wake.ts);
 * dispatch is redis-push.ts, the failed store redis-failed.ts, the record store redis-records.ts,
 * the Jobs and Locks pages redis-admin-jobs.ts and redis-locks.ts; paused queues, workers, metrics and
 * the restart signal are kept over the records (store-services.ts).
 */
import type { Clock } from '../../infra/clock.ts';
import type {
  Backend, Leases, Failure, NewJob, PushResult, QueueStats, ReleaseOptions, ReserveRequest, ReservedJob,
} from '../../store/driver.ts';
import { ownedBy } from '../../store/driver.ts';
import { QueueTurns, reserveInOrder, type ListsQueues } from '../../store/claims/queue-policy.ts';
import { LANE_SEPARATOR, queueOfLane } from '../../store/claims/lanes.ts';
import { LazyOpen } from '../lazy-open.ts';
import { ForwardsToParts, type StoreParts } from '../store-parts.ts';
import { RedisAdminJobs } from './redis-admin-jobs.ts';
import { ACK_COMMAND, CLAIM_COMMAND, createRedis, describeRedis, type RedisClient, type RedisSetting } from './redis-connection.ts';
import { Cluster, type Redis } from 'ioredis';
import { scriptsInOnePipeline } from './redis-pipeline.ts';
import { SCRIPT_BATCH, ackArgs, claimCall, memberOf, parseClaim } from './redis-claim.ts';
import { RedisFailedStore, type RedisKeys } from './redis-failed.ts';
import { RedisLocks } from './redis-locks.ts';
import { RedisPush } from './redis-push.ts';
import { RedisRecords } from './redis-records.ts';
import * as scripts from './redis-scripts.ts';
import { RedisWake } from './redis-wake.ts';
import { batchesBy } from '../shared.ts';

/** The scripts as the client's custom commands (defineCommand): keys first, then arguments. */
type Arg = string | number;
interface Scripted {
  rakitClaim(...keysAndArgs: Arg[]): Promise<(string | number)[]>;
  rakitAck(...keysAndArgs: Arg[]): Promise<number[]>;
  rakitRelease(...keysAndArgs: Arg[]): Promise<number>;
  rakitFail(...keysAndArgs: Arg[]): Promise<number>;
  rakitClear(...keysAndArgs: Arg[]): Promise<number>;
}

const SCRIPTS: [keyof Scripted, string, number][] = [
  [CLAIM_COMMAND, scripts.CLAIM, 5],
  [ACK_COMMAND, scripts.ACK, 5],
  ['rakitRelease', scripts.RELEASE, 4],
  ['rakitFail', scripts.FAIL, 6],
  ['rakitClear', scripts.CLEAR, 4],
];

export class RedisDriver extends ForwardsToParts implements Backend, RedisKeys {
  readonly description: string;
  readonly redis: RedisClient;
  /** The same client, typed with the scripts. */
  private readonly lua: Scripted;
  private readonly opened: LazyOpen;
  private readonly wake: RedisWake;
  private readonly pusher: RedisPush;
  private readonly turns: QueueTurns;
  protected readonly parts: StoreParts;

  constructor(
    setting: RedisSetting,
    private readonly prefix: string,
    readonly clock: Clock,
  ) {
    super();
    this.description = describeRedis(setting);
    this.turns = new QueueTurns(this, () => clock.now());
    this.redis = createRedis(setting);
    for (const [name, lua, numberOfKeys] of SCRIPTS) this.redis.defineCommand(name, { lua, numberOfKeys });
    this.lua = this.redis as unknown as Scripted;
    // Errors surface on the command that meets them; the client reconnects by itself.
    this.redis.on('error', () => undefined);
    this.opened = new LazyOpen(async () => {
      if (this.redis.status === 'wait') await this.redis.connect();
      await this.redis.ping();
    }, { what: `reach Redis at ${this.description.replace(/^redis /, '')}`, fix: 'start Redis or fix REDIS_URL / application/config/job.ts' });
    this.wake = new RedisWake(this.redis, prefix, clock, () => this.queues());
    this.pusher = new RedisPush(this, prefix);
    const jobs = new RedisAdminJobs(this);
    this.parts = { jobs, locks: new RedisLocks(this, jobs), failed: new RedisFailedStore(this), records: new RedisRecords(this.redis, prefix, () => this.open()) };
  }

  k(queue: string, part: string): string {
    return `${this.prefix}:{${queue}}:${part}`;
  }

  jobPrefix(queue: string): string {
    return this.k(queue, 'j:');
  }

  channel(queue: string): string {
    return this.wake.channel(queue);
  }

  open(): Promise<void> {
    return this.opened.open();
  }

  push(job: NewJob): Promise<PushResult> { return this.pusher.push(job); }
  pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> { return this.pusher.pushMany(jobs); }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    await this.open();
    return reserveInOrder(this.claimer([]), request, this.turns);
  }

  /** The acks of each queue the claim takes from ride on that queue's CLAIM script. */
  async reserveAfterAcks(acks: readonly ReservedJob[], request: ReserveRequest): Promise<{ claimed: ReservedJob[]; held: (boolean | undefined)[] }> {
    const held = new Array<boolean | undefined>(acks.length);
    await this.open();
    return { claimed: await reserveInOrder(this.claimer(acks, held), request, this.turns), held };
  }

  /** Claims from one queue at a time, the first claim from a queue carrying its acks (at most one script's worth); `held` gets their results. */
  private claimer(acks: readonly ReservedJob[], held: (boolean | undefined)[] = []): ListsQueues {
    const riding = new Map<string, number[]>();
    for (const { key, indexes } of batchesBy(acks, (job) => job.queue, SCRIPT_BATCH)) if (!riding.has(key)) riding.set(key, indexes);
    /** The acks of `queue`, to the first claim from it that asks: none after it. */
    const carried = (queue: string) => {
      const indexes = riding.get(queue) ?? [];
      riding.delete(queue);
      return indexes;
    };
    return {
      claimFrom: async (queue, limit, request) => {
        const indexes = carried(queue);
        const r = await this.runClaim(queue, limit, request.leases, request.names ? JSON.stringify(request.names) : '', indexes.map((i) => acks[i]!), request.owner);
        indexes.forEach((i, n) => (held[i] = r.held[n]));
        return r.jobs;
      },
      queueNames: () => this.wake.queueList(),
      release: (job, options) => this.release(job, options),
      // Several groups' lanes: their CLAIM scripts in one pipeline, one write (a lane's keys are its own slot: not on a Cluster).
      ...(this.redis instanceof Cluster ? {} : {
        claimLanes: async (lanes: readonly { queue: string; limit: number }[], request: ReserveRequest) => {
          const names = request.names ? JSON.stringify(request.names) : '';
          const calls = lanes.map(({ queue, limit }) => {
            const indexes = carried(queue);
            return { queue, indexes, call: claimCall(this, queue, limit, request.leases, names, indexes.map((i) => acks[i]!), request.owner) };
          });
          const replies = await scriptsInOnePipeline(this.redis as Redis, CLAIM_COMMAND, calls.map((c) => c.call.args));
          const jobs: ReservedJob[] = [];
          let failure: Error | null = null;
          calls.forEach(({ queue, indexes, call }, k) => {
            const [error, reply] = replies[k]!;
            if (error) {
              failure ??= error;
              return;
            }
            const r = parseClaim(reply as unknown[], queue, call.token, call.now, request.leases);
            indexes.forEach((i, n) => (held[i] = r.held[n]));
            jobs.push(...r.jobs);
          });
          if (failure && jobs.length === 0) throw failure;
          return jobs;
        },
      }),
    };
  }

  /** One CLAIM script call: the acks it carries first, then up to `limit` due jobs of `queue`. */
  private async runClaim(queue: string, limit: number, leases: Leases, names: string, acks: readonly ReservedJob[], owner?: string): Promise<{ held: boolean[]; jobs: ReservedJob[] }> {
    const call = claimCall(this, queue, limit, leases, names, acks, owner);
    return parseClaim(await this.lua.rakitClaim(...call.args), queue, call.token, call.now, leases);
  }

  async ack(job: ReservedJob): Promise<boolean> {
    return (await this.ackMany([job]))[0]!;
  }

  /** One ACK script call per queue (a queue's keys share a slot) and per SCRIPT_BATCH jobs, pipelined. */
  async ackMany(jobs: readonly ReservedJob[]): Promise<boolean[]> {
    const held = new Array<boolean>(jobs.length).fill(false);
    const batches = batchesBy(jobs, (job) => job.queue, SCRIPT_BATCH);
    const args = (queue: string, indexes: readonly number[]) => [this.k(queue, 'reserved'), this.k(queue, 'pending'), this.k(queue, 'overlap'), this.k(queue, 'att'), this.k(queue, 'tok'),
      this.jobPrefix(queue), ...ackArgs(indexes.map((i) => jobs[i]!))] as Parameters<Scripted['rakitAck']>;
    if (batches.length > 1 && !(this.redis instanceof Cluster)) {
      // Jobs of several queues (groups' lanes): their scripts in one pipeline, one write.
      const replies = await scriptsInOnePipeline(this.redis as Redis, ACK_COMMAND, batches.map(({ key, indexes }) => args(key, indexes)));
      batches.forEach(({ indexes }, k) => {
        const [error, results] = replies[k]!;
        if (error) throw error;
        indexes.forEach((i, n) => (held[i] = (results as unknown[])[n] === 1));
      });
      return held;
    }
    await Promise.all(batches.map(async ({ key: queue, indexes }) => {
      const results = await this.lua.rakitAck(this.k(queue, 'reserved'), this.k(queue, 'pending'), this.k(queue, 'overlap'), this.k(queue, 'att'), this.k(queue, 'tok'),
        this.jobPrefix(queue), ...ackArgs(indexes.map((i) => jobs[i]!)));
      indexes.forEach((i, n) => (held[i] = results[n] === 1));
    }));
    return held;
  }

  async release(job: ReservedJob, options: ReleaseOptions): Promise<boolean> {
    const m = scripts.MEMBER(memberOf(job.id));
    return (await this.lua.rakitRelease(this.k(job.queue, 'reserved'), this.k(job.queue, 'pending'), this.k(job.queue, 'att'), this.k(job.queue, 'tok'),
      m, job.token, options.at, options.countAttempt ? '1' : '0')) === 1;
  }

  /** Each queue's claim tokens are read; each job held for `owner` is given back by RELEASE, which checks its token. */
  async releaseOwned(owner: string): Promise<number> {
    await this.open();
    let released = 0;
    for (const queue of await this.queues()) {
      const tokens = await this.redis.hgetall(this.k(queue, 'tok'));
      for (const [m, token] of Object.entries(tokens)) {
        if (!ownedBy(token, owner)) continue;
        const due = Number(token.slice(token.lastIndexOf('@') + 1));
        if (await this.lua.rakitRelease(this.k(queue, 'reserved'), this.k(queue, 'pending'), this.k(queue, 'att'), this.k(queue, 'tok'), m, token, due, '0') === 1) released++;
      }
    }
    return released;
  }

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    const m = scripts.MEMBER(memberOf(job.id));
    return (await this.lua.rakitFail(this.k(job.queue, 'reserved'), this.k(job.queue, 'pending'), this.k(job.queue, 'overlap'), this.k(job.queue, 'failed'),
      this.k(job.queue, 'att'), this.k(job.queue, 'tok'), this.jobPrefix(job.queue) + m, m, job.token, failure.exception, this.clock.now(), this.k(job.queue, `f:${m}`))) === 1;
  }

  /** Every queue that ever had a job pushed. */
  async queues(): Promise<string[]> {
    await this.open();
    return (await this.redis.smembers(`${this.prefix}:queues`)).sort();
  }

  async stats(): Promise<QueueStats[]> {
    const now = this.clock.now();
    const out: QueueStats[] = [];
    for (const queue of await this.queues()) {
      const [due, later, lapsed, held, failed] = await Promise.all([
        this.redis.zcount(this.k(queue, 'pending'), '-inf', now),
        this.redis.zcount(this.k(queue, 'pending'), `(${now}`, '+inf'),
        this.redis.zcount(this.k(queue, 'reserved'), '-inf', now),
        this.redis.zcount(this.k(queue, 'reserved'), `(${now}`, '(+inf'), // not HELD_MARK
        this.redis.zcard(this.k(queue, 'failed')),
      ]);
      if (due + later + lapsed + held + failed > 0) out.push({ queue, ready: due + lapsed, scheduled: later, reserved: held, failed });
    }
    return out;
  }

  /** Due jobs and lapsed leases, counted in one pipelined write. */
  async hasDue(queues: readonly string[] | null): Promise<boolean> {
    await this.open();
    const now = this.clock.now();
    // A queue's groups' lanes (store/claims/lanes.ts) are its own.
    const all = queues ? [...queues, ...(await this.queues()).filter((q) => q.includes(LANE_SEPARATOR) && queues.includes(queueOfLane(q)))] : await this.queues();
    const counts = await Promise.all(all.flatMap((q) =>
      [this.redis.zcount(this.k(q, 'pending'), '-inf', now), this.redis.zcount(this.k(q, 'reserved'), '-inf', now)]));
    return counts.some((n) => n > 0);
  }

  async clear(queue: string | null): Promise<number> {
    let n = 0;
    for (const q of queue === null ? await this.queues() : [queue]) {
      await this.open();
      for (;;) {
        const members = await this.redis.zrange(this.k(q, 'pending'), 0, 499);
        if (members.length === 0) break;
        n += await this.lua.rakitClear(this.k(q, 'pending'), this.k(q, 'overlap'), this.k(q, 'att'), this.k(q, 'tok'), this.jobPrefix(q), ...members);
      }
    }
    return n;
  }

  /** Resolves on a wake message for one of `queues`, after `ms`, or on abort. */
  waitForJob(queues: readonly string[] | null, ms: number, signal: AbortSignal): Promise<void> {
    return this.wake.waitForJob(queues, ms, signal);
  }

  async close(): Promise<void> {
    await Promise.all([this.wake.close(), this.redis].map(async (client) => {
      if (!client) return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    }));
  }
}
