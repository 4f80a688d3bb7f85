/**
 * How the `redis` driver stores new jobs: one at a time (`push`, the PUSH script) and many at
 * once (`pushMany`, the PUSH_MANY script: one call per queue and per PUSH_MANY_BATCH jobs, all
 * written together, so a bulk dispatch costs one round trip per queue; on Redis Cluster a queue
 * is one slot). Both register the queue in P:queues, hold overlap keys and wake idle workers
 * when they make a queue's first due job (redis-wake.ts). Keys are those of redis-scripts.ts.
 */
import type { NewJob, PushResult } from '../../store/driver.ts';
import { PUSH_COMMAND } from './redis-connection.ts';
import type { RedisKeys } from './redis-failed.ts';
import { record } from './redis-scripts.ts';
import { batchesBy } from '../shared.ts';
import { CombinedPush } from '../combined-push.ts';

type Arg = string | number;
interface Scripted {
  rakitPush(...keysAndArgs: Arg[]): Promise<[number, string]>;
  rakitPushMany(...keysAndArgs: Arg[]): Promise<(number | string)[]>;
}

/** Jobs per PUSH_MANY call: a bigger one would hold Redis up for other clients longer (about 2 ms per 1,000). */
const PUSH_MANY_BATCH = 1_000;
/**
 * Dispatches written one by one before the next wait to go together. A server's 20 requests
 * dispatching at once go one by one: waiting for a write to come back doubled their p99 (3.5–4.0
 * ms against 1.5–2.0 ms at 16,000–18,000 requests a second, with a limit of 1 or 4), for no more
 * requests a second. A dispatch loop with 100 in flight sends most of them together.
 */
const PUSHES_IN_FLIGHT = 16;
/** Jobs per MSET and ZADD inside PUSH_MANY: Lua's unpack() has a stack limit. */
const MSET_CHUNK = 200;

export class RedisPush {
  private readonly lua: Scripted;
  /** Queues this process has registered in P:queues (the set `job:status` reads). */
  private readonly knownQueues = new Set<string>();
  /**
   * Up to PUSHES_IN_FLIGHT dispatches are written as they are made; those made beyond go out
   * together, in PUSH_MANY calls, as writes come back: one write and one script call for each
   * such group (of one queue) instead of one per job.
   */
  private readonly combined = new CombinedPush<NewJob>(PUSHES_IN_FLIGHT, PUSH_MANY_BATCH, (job) => this.pushOne(job), (jobs) => this.pushSettled(jobs));

  constructor(
    private readonly store: RedisKeys,
    private readonly prefix: string,
  ) {
    store.redis.defineCommand(PUSH_COMMAND, { lua: PUSH, numberOfKeys: 3 });
    store.redis.defineCommand('rakitPushMany', { lua: PUSH_MANY, numberOfKeys: 3 });
    this.lua = store.redis as unknown as Scripted;
    // A restarted Redis may have forgotten the queue list: register queues again after every (re)connect.
    store.redis.on('ready', () => this.knownQueues.clear());
  }

  /** One job; written with the others made meanwhile (combined-push.ts). */
  push(job: NewJob): Promise<PushResult> {
    return this.combined.push(job);
  }

  /** One job, in one PUSH call. */
  private async pushOne(job: NewJob): Promise<PushResult> {
    // A queue registered since the last (re)connect: the store is open, the script goes out without an await before it.
    if (!this.knownQueues.has(job.queue)) await this.register([job.queue]);
    const { store } = this;
    const now = store.clock.now();
    const [stored, member] = await this.lua.rakitPush(
      store.k(job.queue, 'seq'), store.k(job.queue, 'pending'), store.k(job.queue, 'overlap'),
      store.jobPrefix(job.queue), record(job.name, now, job.overlapKey, job.payload), job.scheduledAt, now, job.overlapKey ?? '', store.channel(job.queue),
    );
    const id = `${job.queue}/${Number(member)}`;
    return stored === 1 ? { id } : { skipped: 'overlapping', existingId: id };
  }

  /**
   * One PUSH_MANY call per queue and PUSH_MANY_BATCH jobs, all sent at once. The calls of one
   * queue run in the order given, so its jobs are numbered and claimed in that order. A call
   * that fails leaves the others' jobs stored: the error says how many.
   */
  async pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> {
    if (jobs.length === 0) return [];
    const settled = await this.pushSettled(jobs);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      const stored = settled.filter((s) => s.status === 'fulfilled' && s.value.skipped === undefined).length;
      const reason = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
      throw new Error(`redis: bulk push stored ${stored} of ${jobs.length} jobs, then failed: ${reason}`, { cause: failed.reason });
    }
    return settled.map((s) => (s as PromiseFulfilledResult<PushResult>).value);
  }

  /** The PUSH_MANY calls of `jobs`, each job's outcome that of its call. */
  private async pushSettled(jobs: readonly NewJob[]): Promise<PromiseSettledResult<PushResult>[]> {
    await this.register([...new Set(jobs.map((job) => job.queue))]);
    const { store } = this;
    const now = store.clock.now();
    const results = new Array<PromiseSettledResult<PushResult>>(jobs.length);
    await Promise.all(batchesBy(jobs, (job) => job.queue, PUSH_MANY_BATCH).map(async ({ key: queue, indexes }) => {
      const args: Arg[] = [];
      for (const i of indexes) {
        const job = jobs[i]!;
        args.push(record(job.name, now, job.overlapKey, job.payload), job.scheduledAt, job.overlapKey ?? '');
      }
      try {
        const r = await this.lua.rakitPushMany(store.k(queue, 'seq'), store.k(queue, 'pending'), store.k(queue, 'overlap'),
          store.jobPrefix(queue), now, store.channel(queue), ...args);
        indexes.forEach((i, n) => {
          const id = `${queue}/${Number(r[2 * n + 1])}`;
          results[i] = { status: 'fulfilled', value: Number(r[2 * n]) === 1 ? { id } : { skipped: 'overlapping', existingId: id } };
        });
      } catch (reason) {
        for (const i of indexes) results[i] = { status: 'rejected', reason };
      }
    }));
    return results;
  }

  /** Opens the store, and adds queues not yet registered by this process to P:queues. */
  private async register(queues: string[]): Promise<void> {
    await this.store.open();
    const fresh = queues.filter((queue) => !this.knownQueues.has(queue));
    if (fresh.length === 0) return;
    await this.store.redis.sadd(`${this.prefix}:queues`, ...fresh);
    for (const queue of fresh) this.knownQueues.add(queue);
  }
}

/** KEYS: seq, pending, overlap. ARGV: job key prefix, record, sched, now, okey, channel. → {1, m} | {0, holder} */
const PUSH = `
local okey = ARGV[5]
if okey ~= '' then
  local holder = redis.call('HGET', KEYS[3], okey)
  if holder and redis.call('EXISTS', ARGV[1] .. holder) == 1 then return {0, holder} end
end
local m = string.format('%012d', redis.call('INCR', KEYS[1]))
redis.call('SET', ARGV[1] .. m, ARGV[2])
if okey ~= '' then redis.call('HSET', KEYS[3], okey, m) end
redis.call('ZADD', KEYS[2], ARGV[3], m)
local now = tonumber(ARGV[4])
-- Wake idle workers only when this is the queue's first due job: busy workers come back by themselves.
if tonumber(ARGV[3]) <= now and redis.call('ZCOUNT', KEYS[2], '-inf', now) == 1 then
  redis.call('PUBLISH', ARGV[6], '1')
end
return {1, m}
`;

/**
 * KEYS: seq, pending, overlap. ARGV: job key prefix, now, channel, then record, sched and okey
 * ('' for none) of each job. As PUSH for each job in turn (of two jobs with one overlap key, the
 * second finds the first holding it), but written together: which jobs are stored is settled
 * first, then they take their numbers in one INCRBY and are written MSET_CHUNK at a time. One
 * wake message when the queue had no due job before and now has.
 * → flat: 1, m | 0, holder for each job
 */
const PUSH_MANY = `
local prefix, now = ARGV[1], tonumber(ARGV[2])
local hadDue = #redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1) > 0
-- plan[j]: k, the job is the k-th stored; a member, skipped for the stored job holding its key; -k, skipped for the k-th stored.
local plan, mine, stored = {}, {}, 0
for i = 4, #ARGV, 3 do
  local okey, by = ARGV[i + 2], nil
  if okey ~= '' then
    by = mine[okey]
    if not by then
      local holder = redis.call('HGET', KEYS[3], okey)
      if holder and redis.call('EXISTS', prefix .. holder) == 1 then by = holder end
    end
  end
  if by then
    plan[#plan + 1] = by
  else
    stored = stored + 1
    plan[#plan + 1] = stored
    if okey ~= '' then mine[okey] = -stored end
  end
end
local first = stored > 0 and redis.call('INCRBY', KEYS[1], stored) - stored or 0
local function member(k) return string.format('%012d', first + k) end
local out, sets, adds, okeys, madeDue = {}, {}, {}, {}, false
local function flush()
  if #sets > 0 then redis.call('MSET', unpack(sets)); sets = {} end
  if #adds > 0 then redis.call('ZADD', KEYS[2], unpack(adds)); adds = {} end
  if #okeys > 0 then redis.call('HSET', KEYS[3], unpack(okeys)); okeys = {} end
end
for j, p in ipairs(plan) do
  local i = 1 + j * 3
  if type(p) == 'string' then
    out[#out + 1], out[#out + 2] = 0, p
  elseif p < 0 then
    out[#out + 1], out[#out + 2] = 0, member(-p)
  else
    local m = member(p)
    sets[#sets + 1], sets[#sets + 2] = prefix .. m, ARGV[i]
    adds[#adds + 1], adds[#adds + 2] = ARGV[i + 1], m
    if ARGV[i + 2] ~= '' then okeys[#okeys + 1], okeys[#okeys + 2] = ARGV[i + 2], m end
    if tonumber(ARGV[i + 1]) <= now then madeDue = true end
    out[#out + 1], out[#out + 2] = 1, m
    if #sets >= ${MSET_CHUNK * 2} then flush() end
  end
end
flush()
if madeDue and not hadDue then redis.call('PUBLISH', ARGV[3], '1') end
return out
`;
