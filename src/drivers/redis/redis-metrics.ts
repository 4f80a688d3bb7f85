/**
 * The `redis` driver's per-minute metrics (MetricsStore), under one hash tag so a flush is one
 * script on one slot:
 *   P:{~metrics}:minutes  ZSET `minute:["queue","name"]` → minute (the index)
 *   P:{~metrics}:s:<member of minutes>  HASH counter → count (HINCRBYFLOAT: writers never lose a count)
 * The all-time totals are the samples of TOTALS_MINUTE (0), never pruned.
 */
import { RUNTIME_BUCKETS_MS, type MetricSample, type MetricsStore } from '../../store/admin-store.ts';
import type { RedisClient } from './redis-connection.ts';

type Arg = string | number;
interface Scripted {
  rakitAddMetrics(...keysAndArgs: Arg[]): Promise<number>;
  rakitPruneMetrics(...keysAndArgs: Arg[]): Promise<number>;
}

/** A sample's counters in the order the scripts take them (the hash's field names). */
const FIELDS = ['done', 'failed', 'retried', 'runtimeMs', 'waitMs', ...[...RUNTIME_BUCKETS_MS, Infinity].map((_, i) => `b${i}`)];
/** Samples per ADD call, and index members per PRUNE call. */
const BATCH = 200;

export class RedisMetrics implements MetricsStore {
  private readonly lua: Scripted;
  private readonly index: string;
  private readonly samplePrefix: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly open: () => Promise<void>,
  ) {
    redis.defineCommand('rakitAddMetrics', { lua: ADD, numberOfKeys: 1 });
    redis.defineCommand('rakitPruneMetrics', { lua: PRUNE, numberOfKeys: 1 });
    this.lua = redis as unknown as Scripted;
    this.index = `${prefix}:{~metrics}:minutes`;
    this.samplePrefix = `${prefix}:{~metrics}:s:`;
  }

  async addMetrics(samples: readonly MetricSample[]): Promise<void> {
    if (samples.length === 0) return;
    await this.open();
    const calls: Promise<number>[] = [];
    for (let i = 0; i < samples.length; i += BATCH) {
      const args = samples.slice(i, i + BATCH).flatMap((s) => [memberOf(s), s.minute, ...countersOf(s)]);
      calls.push(this.lua.rakitAddMetrics(this.index, this.samplePrefix, FIELDS.length, ...FIELDS, ...args));
    }
    await Promise.all(calls);
  }

  async readMetrics(from: number, to: number): Promise<MetricSample[]> {
    await this.open();
    const flat = await this.redis.zrangebyscore(this.index, from, `(${to}`, 'WITHSCORES');
    const samples = await Promise.all(Array.from({ length: flat.length / 2 }, async (_, n) => {
      const member = flat[2 * n]!;
      const [queue, name] = JSON.parse(member.slice(member.indexOf(':') + 1)) as [string, string];
      const values = (await this.redis.hmget(this.samplePrefix + member, ...FIELDS)).map((v) => Number(v ?? 0));
      const [done, failed, retried, runtimeMs, waitMs, ...buckets] = values as [number, number, number, number, number, ...number[]];
      return { minute: Number(flat[2 * n + 1]), queue, name, done, failed, retried, runtimeMs, waitMs, buckets };
    }));
    return samples.sort((a, b) => a.minute - b.minute || compare(a.queue, b.queue) || compare(a.name, b.name));
  }

  async pruneMetrics(before: number): Promise<number> {
    if (before <= 0) return 0;
    await this.open();
    let n = 0;
    for (;;) {
      const dropped = await this.lua.rakitPruneMetrics(this.index, this.samplePrefix, before, BATCH);
      n += dropped;
      if (dropped < BATCH) return n;
    }
  }
}

function memberOf(s: MetricSample): string {
  return `${s.minute}:${JSON.stringify([s.queue, s.name])}`;
}

function countersOf(s: MetricSample): number[] {
  return [s.done, s.failed, s.retried, s.runtimeMs, s.waitMs, ...FIELDS.slice(5).map((_, i) => s.buckets[i] ?? 0)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * KEYS: index. ARGV: sample key prefix, field count f, the f field names, then per sample its
 * member, minute and f counts. Adds each sample's counts to its hash (HINCRBYFLOAT: a sum of
 * milliseconds may have a fraction; whole numbers stay exact to 2^64). → how many samples
 */
const ADD = `
local prefix, f = ARGV[1], tonumber(ARGV[2])
local n = 0
for i = 3 + f, #ARGV, f + 2 do
  local key = prefix .. ARGV[i]
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('HINCRBYFLOAT', key, ARGV[3], 0)
  for j = 1, f do
    local v = ARGV[i + 1 + j]
    if v ~= '0' then redis.call('HINCRBYFLOAT', key, ARGV[2 + j], v) end
  end
  n = n + 1
end
return n
`;

/**
 * KEYS: index. ARGV: sample key prefix, before, batch. Drops up to `batch` samples of minutes
 * after TOTALS_MINUTE (0) and before `before`. → how many
 */
const PRUNE = `
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '(0', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(old) do redis.call('DEL', ARGV[1] .. m) end
if #old > 0 then redis.call('ZREM', KEYS[1], unpack(old)) end
return #old
`;
