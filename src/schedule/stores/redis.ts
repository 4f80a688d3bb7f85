/**
 * The schedule store on Redis, Sentinel or Redis Cluster (ioredis). Every key carries the hash
 * tag `{schedule}`, so each multi-key step is one Lua script in one slot, in Cluster too.
 *
 *   P:{schedule}:claim:<task>:<tick>   SET NX PX: the host that set it has the tick
 *   P:{schedule}:lock:<name>           `<owner>|<acquired>|<expires>`; the scripts compare the owner
 *                                      and the expiry (the store's clock), PX is a backstop
 *   P:{schedule}:locks                 set of lock names, for listing without SCAN
 *   P:{schedule}:runs:<task>           hash run id → run (JSON); :order:<task> zset by start
 */
import type { Clock } from '../../infra/clock.ts';
import { createRedis, describeRedis, type RedisClient, type RedisSetting } from '../../drivers/redis/redis-connection.ts';
import { ConnectionError, coerceError } from '../../infra/errors.ts';
import { clearLocksVia, type LockInfo, type RunRecord, type ScheduleStore } from '../store.ts';

const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v then
  local exp = tonumber(string.match(v, '|(%d+)$'))
  if exp and exp > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2] .. '|' .. (tonumber(ARGV[2]) + tonumber(ARGV[3])), 'PX', 2 * tonumber(ARGV[3]))
redis.call('SADD', KEYS[2], ARGV[4])
return 1`;

const RENEW = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
local acquired = string.match(v, '^.*|(%d+)|%d+$')
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. acquired .. '|' .. (tonumber(ARGV[2]) + tonumber(ARGV[3])), 'PX', 2 * tonumber(ARGV[3]))
return 1`;

const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1`;

const SAVE_RUN = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
return 1`;

export class RedisScheduleStore implements ScheduleStore {
  readonly description: string;
  private readonly client: RedisClient;
  private readonly base: string;
  private ready: Promise<void> | null = null;

  constructor(setting: RedisSetting, prefix: string, private readonly clock: Clock) {
    this.client = createRedis(setting);
    this.client.on('error', () => undefined); // reported by the command that meets it
    this.description = describeRedis(setting);
    this.base = `${prefix}:{schedule}`;
  }

  async claim(task: string, tick: number, owner: string, keepMs: number): Promise<boolean> {
    await this.open();
    return (await this.client.set(`${this.base}:claim:${task}:${tick}`, owner, 'PX', keepMs, 'NX')) === 'OK';
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.open();
    return (await this.client.eval(ACQUIRE, 2, this.lockKey(name), `${this.base}:locks`, owner, this.clock.now(), ttlMs, name)) === 1;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.open();
    return (await this.client.eval(RENEW, 1, this.lockKey(name), owner, this.clock.now(), ttlMs)) === 1;
  }

  async release(name: string, owner: string): Promise<boolean> {
    await this.open();
    return (await this.client.eval(RELEASE, 2, this.lockKey(name), `${this.base}:locks`, owner, name)) === 1;
  }

  async locks(): Promise<LockInfo[]> {
    await this.open();
    const names = (await this.client.smembers(`${this.base}:locks`)).sort();
    if (names.length === 0) return [];
    const values = await this.client.mget(...names.map((n) => this.lockKey(n)));
    const out: LockInfo[] = [];
    names.forEach((name, i) => {
      const match = values[i] ? /^(.*)\|(\d+)\|(\d+)$/.exec(values[i]!) : null;
      if (match) out.push({ name, owner: match[1]!, acquiredAt: Number(match[2]), expiresAt: Number(match[3]) });
    });
    const gone = names.filter((_, i) => !values[i]);
    if (gone.length > 0) await this.client.srem(`${this.base}:locks`, ...gone);
    return out;
  }

  clearLocks(names?: string[]): Promise<LockInfo[]> {
    return clearLocksVia(this, names);
  }

  async saveRun(run: RunRecord, keep: number): Promise<void> {
    await this.open();
    await this.client.eval(SAVE_RUN, 2, `${this.base}:runs:${run.task}`, `${this.base}:order:${run.task}`, run.id, JSON.stringify(run), run.startedAt, keep);
  }

  async runs(task: string, limit: number): Promise<RunRecord[]> {
    await this.open();
    const ids = await this.client.zrevrange(`${this.base}:order:${task}`, 0, limit - 1);
    if (ids.length === 0) return [];
    const values = await this.client.hmget(`${this.base}:runs:${task}`, ...ids);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as RunRecord);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private open(): Promise<void> {
    this.ready ??= (async () => {
      try {
        if (this.client.status === 'wait') await this.client.connect();
        await this.client.ping();
      } catch (error) {
        this.ready = null;
        throw new ConnectionError(`Cannot reach Redis at ${this.description.replace(/^redis /, '')}: ${coerceError(error).message} — start Redis or fix REDIS_URL / application/config/job.ts`, { cause: error });
      }
    })();
    return this.ready;
  }

  private lockKey(name: string): string {
    return `${this.base}:lock:${name}`;
  }
}
