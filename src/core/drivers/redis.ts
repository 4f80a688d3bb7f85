/**
 * The `redis` driver (ioredis): every multi-key step is one Lua script (redis-scripts.ts),
 * loaded once and run by EVALSHA. A queue's keys share one hash tag, so the driver works on
 * Redis Cluster. Idle workers wait on a pub/sub message that a dispatch publishes when it makes
 * a queue's first due job, so they wake within milliseconds without polling; the subscription
 * is re-made by ioredis after a reconnect, and the wait never outlasts `--sleep`.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.ts';
import { ConnectionError, coerceError } from '../errors.ts';
import type {
  ClearableQueue, Driver, Leases, FailedJob, FailedStore, Failure, NewJob, PushResult, QueueStats, ReleaseOptions,
  ReserveRequest, ReservedJob, RetryResult, WakingQueue,
} from '../driver.ts';
import { batchesBy, leaseFor } from '../driver.ts';
import { ACK_COMMAND, CLAIM_COMMAND, PUSH_COMMAND, createRedis, describeRedis, type RedisClient, type RedisSetting } from './redis-connection.ts';
import * as scripts from './redis-scripts.ts';
import { Wakeup } from './wakeup.ts';

/** The scripts as the client's custom commands (defineCommand): keys first, then arguments. */
type Arg = string | number;
interface Scripted {
  rakitPush(...keysAndArgs: Arg[]): Promise<[number, string]>;
  rakitClaim(...keysAndArgs: Arg[]): Promise<(string | number)[]>;
  rakitAck(...keysAndArgs: Arg[]): Promise<number[]>;
  rakitRelease(...keysAndArgs: Arg[]): Promise<number>;
  rakitFail(...keysAndArgs: Arg[]): Promise<number>;
  rakitRetryFailed(...keysAndArgs: Arg[]): Promise<[number, string?]>;
  rakitForgetFailed(...keysAndArgs: Arg[]): Promise<number>;
  rakitClear(...keysAndArgs: Arg[]): Promise<number>;
}

const SCRIPTS: [keyof Scripted, string, number][] = [
  [PUSH_COMMAND, scripts.PUSH, 3],
  [CLAIM_COMMAND, scripts.CLAIM, 5],
  [ACK_COMMAND, scripts.ACK, 5],
  ['rakitRelease', scripts.RELEASE, 4],
  ['rakitFail', scripts.FAIL, 6],
  ['rakitRetryFailed', scripts.RETRY_FAILED, 4],
  ['rakitForgetFailed', scripts.FORGET_FAILED, 1],
  ['rakitClear', scripts.CLEAR, 4],
];

export class RedisDriver implements Driver, FailedStore, ClearableQueue, WakingQueue {
  readonly description: string;
  private readonly redis: RedisClient;
  /** The same client, typed with the scripts. */
  private readonly lua: Scripted;
  private subscriber: RedisClient | null = null;
  private subscribing: Promise<void> | null = null;
  private ready: Promise<void> | null = null;
  /** Queues this process has registered in P:queues (the set `job:status` reads). */
  private readonly knownQueues = new Set<string>();
  private readonly wakeup = new Wakeup();
  private queueCache: { at: number; queues: string[] } | null = null;

  constructor(
    setting: RedisSetting,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    this.description = describeRedis(setting);
    this.redis = createRedis(setting);
    for (const [name, lua, numberOfKeys] of SCRIPTS) this.redis.defineCommand(name, { lua, numberOfKeys });
    this.lua = this.redis as unknown as Scripted;
    // Errors surface on the command that meets them; the client reconnects by itself.
    this.redis.on('error', () => undefined);
    // A restarted Redis may have forgotten the queue list: register queues again after every (re)connect.
    this.redis.on('ready', () => this.knownQueues.clear());
  }

  private k(queue: string, part: string): string {
    return `${this.prefix}:{${queue}}:${part}`;
  }

  private jobPrefix(queue: string): string {
    return this.k(queue, 'j:');
  }

  private channel(queue: string): string {
    return `${this.prefix}:wake:${queue}`;
  }

  private open(): Promise<void> {
    this.ready ??= (async () => {
      try {
        if (this.redis.status === 'wait') await this.redis.connect();
        await this.redis.ping();
      } catch (error) {
        this.ready = null;
        throw new ConnectionError(`Cannot reach Redis at ${this.description.replace(/^redis /, '')}: ${coerceError(error).message} — start Redis or fix REDIS_URL / application/config/job.ts`, { cause: error });
      }
    })();
    return this.ready;
  }

  async push(job: NewJob): Promise<PushResult> {
    await this.open();
    if (!this.knownQueues.has(job.queue)) {
      await this.redis.sadd(`${this.prefix}:queues`, job.queue);
      this.knownQueues.add(job.queue);
    }
    const now = this.clock.now();
    const [stored, member] = await this.lua.rakitPush(
      this.k(job.queue, 'seq'), this.k(job.queue, 'pending'), this.k(job.queue, 'overlap'),
      this.jobPrefix(job.queue), scripts.record(job.name, now, job.overlapKey, job.payload), job.scheduledAt, now, job.overlapKey ?? '', this.channel(job.queue),
    );
    const id = `${job.queue}/${Number(member)}`;
    return stored === 1 ? { id } : { skipped: 'overlapping', existingId: id };
  }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    return (await this.reserveAfterAcks([], request)).claimed;
  }

  /** The acks of each queue the claim takes from ride on that queue's CLAIM script. */
  async reserveAfterAcks(acks: readonly ReservedJob[], request: ReserveRequest): Promise<{ claimed: ReservedJob[]; held: (boolean | undefined)[] }> {
    const held = new Array<boolean | undefined>(acks.length);
    if (request.limit <= 0) return { claimed: [], held };
    await this.open();
    const queues = request.queues ?? (await this.queueList());
    const names = request.names ? JSON.stringify(request.names) : '';
    const { leases } = request;
    // Positions of the acks that ride on each queue's claim (at most one script's worth).
    const riding = new Map<string, number[]>();
    for (const { key, indexes } of batchesBy(acks, (job) => job.queue, SCRIPT_BATCH)) if (!riding.has(key)) riding.set(key, indexes);
    const claimFrom = async (queue: string, want: number): Promise<ReservedJob[]> => {
      const indexes = riding.get(queue) ?? [];
      riding.delete(queue);
      const r = await this.claimFrom(queue, want, leases, names, indexes.map((i) => acks[i]!));
      indexes.forEach((i, n) => (held[i] = r.held[n]));
      return r.jobs;
    };
    if (request.queues === null && queues.length > 1) {
      // Every queue, oldest due first: claim from each, keep the oldest, give the rest back.
      const all = (await Promise.all(queues.map((q) => claimFrom(q, request.limit))))
        .flat().sort((a, b) => a.scheduledAt - b.scheduledAt || a.id.localeCompare(b.id));
      for (const extra of all.splice(request.limit)) await this.release(extra, { at: extra.scheduledAt, countAttempt: false });
      return { claimed: all, held };
    }
    const claimed: ReservedJob[] = [];
    for (const queue of queues) {
      const want = request.limit - claimed.length;
      if (want <= 0) break;
      claimed.push(...(await claimFrom(queue, want)));
    }
    return { claimed, held };
  }

  private async claimFrom(queue: string, limit: number, leases: Leases, names: string, acks: readonly ReservedJob[]): Promise<{ held: boolean[]; jobs: ReservedJob[] }> {
    const token = randomUUID();
    const now = this.clock.now();
    const r = await this.lua.rakitClaim(
      this.k(queue, 'pending'), this.k(queue, 'reserved'), this.k(queue, 'att'), this.k(queue, 'tok'), this.k(queue, 'overlap'),
      this.jobPrefix(queue), now, Math.min(limit, SCRIPT_BATCH), token, leases.defaultMs, leaseText(leases), names, ...ackArgs(acks),
    );
    const acked = Number(r[0]);
    const held = r.slice(1, 1 + acked).map((x) => Number(x) === 1);
    const jobs: ReservedJob[] = [];
    for (let i = 1 + acked; i < r.length; i += 4) {
      const [name, createdAt, overlapKey, payload] = scripts.parseRecord(String(r[i + 1]));
      jobs.push({
        id: `${queue}/${Number(r[i])}`, name, queue, payload, attempts: Number(r[i + 2]), scheduledAt: Number(r[i + 3]),
        createdAt, overlapKey, token, reservedUntil: now + leaseFor(leases, name),
      });
    }
    return { held, jobs };
  }

  async ack(job: ReservedJob): Promise<boolean> {
    return (await this.ackMany([job]))[0]!;
  }

  /** One ACK script call per queue (a queue's keys share a slot) and per SCRIPT_BATCH jobs, pipelined. */
  async ackMany(jobs: readonly ReservedJob[]): Promise<boolean[]> {
    const held = new Array<boolean>(jobs.length).fill(false);
    await Promise.all(batchesBy(jobs, (job) => job.queue, SCRIPT_BATCH).map(async ({ key: queue, indexes }) => {
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

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    const m = scripts.MEMBER(memberOf(job.id));
    return (await this.lua.rakitFail(this.k(job.queue, 'reserved'), this.k(job.queue, 'pending'), this.k(job.queue, 'overlap'), this.k(job.queue, 'failed'),
      this.k(job.queue, 'att'), this.k(job.queue, 'tok'), this.jobPrefix(job.queue) + m, m, job.token, failure.exception, this.clock.now(), this.k(job.queue, `f:${m}`))) === 1;
  }

  /**
   * The queue list (every queue that ever had a job pushed) for claims without --queue, read at
   * most once a second. A wake message from a queue not in it, a reconnect, or an idle wait that
   * ran its full length makes the next claim read it again, so a job on a new queue never waits.
   */
  private async queueList(): Promise<string[]> {
    const now = this.clock.now();
    if (!this.queueCache || now - this.queueCache.at >= QUEUE_LIST_MS) this.queueCache = { at: now, queues: await this.queues() };
    return this.queueCache.queues;
  }

  private async queues(): Promise<string[]> {
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
    const counts = await Promise.all((queues ?? (await this.queues())).flatMap((q) =>
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

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    const out: FailedJob[] = [];
    for (const queue of await this.queues()) {
      const members = await this.redis.zrange(this.k(queue, 'failed'), 0, limit - 1);
      const hashes = await Promise.all(members.map((m) => this.redis.hgetall(this.k(queue, `f:${m}`))));
      hashes.forEach((h, i) => {
        if (!h.name) return;
        const id = `${queue}/${Number(members[i])}`;
        out.push({
          id, jobId: id, name: h.name, queue, payload: h.payload ?? '', exception: h.exception ?? '',
          attempts: Number(h.attempts ?? 0), overlapKey: h.okey || null, failedAt: Number(h.failed_at ?? 0),
        });
      });
    }
    return out.sort((a, b) => a.failedAt - b.failedAt).slice(0, limit);
  }

  async retryFailed(ids: readonly string[] | 'all'): Promise<RetryResult> {
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    const wanted = ids === 'all' ? (await this.listFailed(Number.MAX_SAFE_INTEGER)).map((f) => f.id) : ids;
    for (const failedId of wanted) {
      const parsed = parseId(failedId);
      if (!parsed) {
        result.missing.push(failedId);
        continue;
      }
      const { queue, m } = parsed;
      const [status, member] = await this.lua.rakitRetryFailed(
        this.k(queue, 'failed'), this.k(queue, 'pending'), this.k(queue, 'overlap'), this.k(queue, 'seq'),
        this.k(queue, `f:${m}`), m, this.jobPrefix(queue), this.clock.now(), this.channel(queue),
      );
      if (status === 1) result.retried.push({ failedId, jobId: `${queue}/${Number(member)}` });
      else if (status === -1) result.overlapping.push(failedId);
      else result.missing.push(failedId);
    }
    return result;
  }

  async forgetFailed(id: string): Promise<boolean> {
    const parsed = parseId(id);
    if (!parsed) return false;
    await this.open();
    return (await this.lua.rakitForgetFailed(this.k(parsed.queue, 'failed'), this.k(parsed.queue, 'f:'), parsed.m)) > 0;
  }

  async flushFailed(olderThanMs: number | null): Promise<number> {
    let n = 0;
    for (const queue of await this.queues()) {
      const members = await this.redis.zrangebyscore(this.k(queue, 'failed'), '-inf', olderThanMs === null ? '+inf' : `(${olderThanMs}`);
      for (let i = 0; i < members.length; i += 500) {
        n += await this.lua.rakitForgetFailed(this.k(queue, 'failed'), this.k(queue, 'f:'), ...members.slice(i, i + 500));
      }
    }
    return n;
  }

  /** Resolves on a wake message for one of `queues`, after `ms`, or on abort. */
  async waitForJob(queues: readonly string[] | null, ms: number, signal: AbortSignal): Promise<void> {
    if (!this.subscriber) {
      // A job published before the subscription existed would be missed: subscribe, then let the
      // worker look once more before it waits. Redis may be down right now: then wait out `ms`
      // and subscribe on a later call.
      this.subscribing ??= this.subscribe(queues).finally(() => {
        this.subscribing = null;
      });
      const subscribed = await this.subscribing.then(() => true, () => false);
      this.queueCache = null;
      if (subscribed) return;
      ms = Math.min(ms, 1000);
    }
    // After a whole wait (a delayed job on a new queue came due, perhaps), read the queue list again.
    if (await this.wakeup.wait(ms, signal)) this.queueCache = null;
  }

  /** A wake message: the claim after it reads the queue list again only for a queue it does not know. */
  private onWakeMessage(channel: string): void {
    const queue = channel.slice(this.channel('').length);
    if (this.queueCache && !this.queueCache.queues.includes(queue)) this.queueCache = null;
    this.wakeup.wake();
  }

  /**
   * One subscriber connection for the process, kept for its life once made (ioredis re-subscribes
   * after reconnects). A failed first subscribe leaves none, so a later wait tries again.
   */
  private async subscribe(queues: readonly string[] | null): Promise<void> {
    const sub = (this.redis as Redis).duplicate();
    sub.on('error', () => undefined);
    try {
      if (queues) await sub.subscribe(...queues.map((q) => this.channel(q)));
      else await sub.psubscribe(`${this.prefix}:wake:*`);
    } catch (error) {
      sub.disconnect();
      throw error;
    }
    // Messages sent while the subscriber was reconnecting are lost: a reconnect wakes the workers to look.
    sub.on('message', (channel: string) => this.onWakeMessage(channel))
      .on('pmessage', (_pattern: string, channel: string) => this.onWakeMessage(channel))
      .on('ready', () => {
        this.queueCache = null;
        this.wakeup.wake();
      });
    this.subscriber = sub;
  }

  async restartRequestedAt(): Promise<number | null> {
    await this.open();
    const value = await this.redis.get(`${this.prefix}:restart`);
    return value === null ? null : Number(value);
  }

  async requestRestart(at: number): Promise<void> {
    await this.open();
    await this.redis.set(`${this.prefix}:restart`, String(at));
  }

  async close(): Promise<void> {
    this.wakeup.release();
    await Promise.all([this.subscriber, this.redis].map(async (client) => {
      if (!client) return;
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    }));
  }
}

const QUEUE_LIST_MS = 1_000;
/** Jobs per ACK or CLAIM call: Lua's unpack() has a stack limit. */
const SCRIPT_BATCH = 500;

/** The leases as the claim script reads them (those that differ from the default), serialised once per Leases object. */
const leaseTexts = new WeakMap<Leases, string>();
function leaseText(leases: Leases): string {
  let text = leaseTexts.get(leases);
  if (text === undefined) {
    const own = Object.entries(leases.byName).filter(([, ms]) => ms !== leases.defaultMs);
    leaseTexts.set(leases, (text = JSON.stringify(Object.fromEntries(own))));
  }
  return text;
}

/** `default/17` → queue `default`, member of 17; null for anything else. */
function parseId(id: string): { queue: string; m: string } | null {
  const at = id.lastIndexOf('/');
  const n = id.slice(at + 1);
  if (at <= 0 || !/^[1-9]\d{0,11}$/.test(n)) return null;
  return { queue: id.slice(0, at), m: scripts.MEMBER(n) };
}

/** ACK's arguments for each job: member, token, overlap key ('' for none). */
function ackArgs(jobs: readonly ReservedJob[]): string[] {
  return jobs.flatMap((job) => [scripts.MEMBER(memberOf(job.id)), job.token, job.overlapKey ?? '']);
}

function memberOf(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}
