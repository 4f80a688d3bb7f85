/**
 * The `redis` driver's failed store behind `job:failed`, `job:forget`, `job:flush` and `job:retry`
 * (store-services.ts), with its scripts. A failed job is a hash P:{Q}:f:<m> listed in the queue's
 * P:{Q}:failed sorted set by failed time (the worker's FAIL script writes them). A requeue is one
 * script on the queue's slot: the job pushed again (its overlap key checked as PUSH does) and the
 * failed hash deleted.
 */
import type { Clock } from '../../infra/clock.ts';
import type { FailedJob, FailedStore, Requeued } from '../../store/driver.ts';
import type { RedisClient } from './redis-connection.ts';
import { MEMBER, PACK } from './redis-scripts.ts';

/** What the failed store needs of the driver: its client, its keys and its queue list. */
export interface RedisKeys {
  readonly redis: RedisClient;
  readonly clock: Clock;
  /** The key `part` of `queue`: `P:{queue}:part`. */
  k(queue: string, part: string): string;
  jobPrefix(queue: string): string;
  /** The channel a queue's wake messages go to. */
  channel(queue: string): string;
  /** Every queue that ever had a job pushed. */
  queues(): Promise<string[]>;
  open(): Promise<void>;
}

type Arg = string | number;
interface Scripted {
  rakitRequeueFailed(...keysAndArgs: Arg[]): Promise<[number, string?]>;
  rakitForgetFailed(...keysAndArgs: Arg[]): Promise<number>;
}

export class RedisFailedStore implements FailedStore {
  private readonly lua: Scripted;

  constructor(private readonly store: RedisKeys) {
    store.redis.defineCommand('rakitRequeueFailed', { lua: REQUEUE_FAILED, numberOfKeys: 4 });
    store.redis.defineCommand('rakitForgetFailed', { lua: FORGET_FAILED, numberOfKeys: 1 });
    this.lua = store.redis as unknown as Scripted;
  }

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    const { redis, k } = this.keys();
    const out: FailedJob[] = [];
    for (const queue of await this.store.queues()) {
      const members = await redis.zrange(k(queue, 'failed'), 0, limit - 1);
      const hashes = await Promise.all(members.map((m) => redis.hgetall(k(queue, `f:${m}`))));
      hashes.forEach((h, i) => {
        const failed = toFailed(queue, members[i]!, h);
        if (failed) out.push(failed);
      });
    }
    return out.sort((a, b) => a.failedAt - b.failedAt).slice(0, limit);
  }

  async getFailed(id: string): Promise<FailedJob | null> {
    const parsed = parseId(id);
    if (!parsed) return null;
    await this.store.open();
    return toFailed(parsed.queue, parsed.m, await this.store.redis.hgetall(this.store.k(parsed.queue, `f:${parsed.m}`)));
  }

  async requeueFailed(id: string, at: number): Promise<Requeued> {
    const parsed = parseId(id);
    if (!parsed) return 'missing';
    await this.store.open();
    const { queue, m } = parsed;
    const { k } = this.keys();
    const [status, member] = await this.lua.rakitRequeueFailed(k(queue, 'failed'), k(queue, 'pending'), k(queue, 'overlap'), k(queue, 'seq'),
      k(queue, `f:${m}`), m, this.store.jobPrefix(queue), at, this.store.clock.now(), this.store.channel(queue));
    return status === 1 ? { jobId: `${queue}/${Number(member)}` } : status === -1 ? 'overlapping' : 'missing';
  }

  async forgetFailed(id: string): Promise<boolean> {
    const parsed = parseId(id);
    if (!parsed) return false;
    await this.store.open();
    const { k } = this.keys();
    return (await this.lua.rakitForgetFailed(k(parsed.queue, 'failed'), k(parsed.queue, 'f:'), parsed.m)) > 0;
  }

  async flushFailed(olderThanMs: number | null): Promise<number> {
    const { redis, k } = this.keys();
    let n = 0;
    for (const queue of await this.store.queues()) {
      const members = await redis.zrangebyscore(k(queue, 'failed'), '-inf', olderThanMs === null ? '+inf' : `(${olderThanMs}`);
      for (let i = 0; i < members.length; i += 500) {
        n += await this.lua.rakitForgetFailed(k(queue, 'failed'), k(queue, 'f:'), ...members.slice(i, i + 500));
      }
    }
    return n;
  }

  private keys() {
    return { redis: this.store.redis, k: (queue: string, part: string) => this.store.k(queue, part) };
  }
}

/** `default/17` → queue `default`, member of 17; null for anything else. */
export function parseId(id: string): { queue: string; m: string } | null {
  const at = id.lastIndexOf('/');
  const n = id.slice(at + 1);
  if (at <= 0 || !/^[1-9]\d{0,11}$/.test(n)) return null;
  return { queue: id.slice(0, at), m: MEMBER(n) };
}

/** A failed job from its hash (null: gone). */
function toFailed(queue: string, m: string, h: Record<string, string>): FailedJob | null {
  if (!h.name) return null;
  const id = `${queue}/${Number(m)}`;
  return {
    id, jobId: id, name: h.name, queue, payload: h.payload ?? '', exception: h.exception ?? '',
    attempts: Number(h.attempts ?? 0), overlapKey: h.okey || null, failedAt: Number(h.failed_at ?? 0),
  };
}

/**
 * KEYS: failed, pending, overlap, seq. ARGV: failed key, failed member, job key prefix, due, now,
 * channel. → {1, new member} | {0} (missing) | {-1} (overlap key held)
 */
const REQUEUE_FAILED = `
${PACK}local f = redis.call('HMGET', ARGV[1], 'name', 'payload', 'okey')
if not f[1] then return {0} end
local okey = f[3] or ''
if okey ~= '' then
  local holder = redis.call('HGET', KEYS[3], okey)
  if holder and redis.call('EXISTS', ARGV[3] .. holder) == 1 then return {-1} end
end
local m = string.format('%012d', redis.call('INCR', KEYS[4]))
redis.call('SET', ARGV[3] .. m, pack(f[1], ARGV[5], okey, f[2]))
redis.call('DEL', ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[2])
if okey ~= '' then redis.call('HSET', KEYS[3], okey, m) end
redis.call('ZADD', KEYS[2], ARGV[4], m)
redis.call('PUBLISH', ARGV[6], '1')
return {1, m}
`;

/** KEYS: failed. ARGV: failed key prefix, members... → how many removed */
const FORGET_FAILED = `
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[1] .. ARGV[i])
end
return n
`;
