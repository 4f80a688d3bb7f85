/**
 * The `redis` driver's record store (record-store.ts), behind batches, limits and progress.
 * A namespace's keys share one hash tag (`{~r:N}`, which no queue name can be), so it lives in
 * one slot and each write is one Lua script, atomic on Redis and on Redis Cluster.
 * Keys of namespace N under prefix P:
 *   P:{~r:N}:v:<id>  HASH value, version: the record; a time to live is the key's PEXPIRE,
 *                    counted by Redis on its own clock, so every instance sees it expire at once
 *   P:{~r:N}:ver     counter for versions: each write takes the next number, so a version is
 *                    never used twice in a namespace, even by a record deleted and made anew
 *   P:{~r:N}:index   ZSET id → version of its last write: the listing, newest write first
 *   P:{~r:N}:expiry  ZSET id → when it expires (Redis's clock), for records with a time to live
 * An expired record leaves its entries behind: each write drops those of up to ten records that
 * have expired, and listing drops those it meets, so the index does not outgrow the records.
 */
import type { ListedRecord, RecordStore, StoredRecord } from '../../store/record-store.ts';
import type { RedisClient } from './redis-connection.ts';

type Arg = string | number;
interface Scripted {
  rakitRecordCas(...keysAndArgs: Arg[]): Promise<number>;
  rakitRecordDelete(...keysAndArgs: Arg[]): Promise<number>;
  rakitRecordList(...keysAndArgs: Arg[]): Promise<string[]>;
}

export class RedisRecords implements RecordStore {
  private readonly lua: Scripted;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly open: () => Promise<void>,
  ) {
    redis.defineCommand('rakitRecordCas', { lua: CAS, numberOfKeys: 4 });
    redis.defineCommand('rakitRecordDelete', { lua: DELETE, numberOfKeys: 3 });
    redis.defineCommand('rakitRecordList', { lua: LIST, numberOfKeys: 2 });
    this.lua = redis as unknown as Scripted;
  }

  private key(namespace: string, part: string): string {
    return `${this.prefix}:{~r:${namespace}}:${part}`;
  }

  async getRecord(namespace: string, id: string): Promise<StoredRecord | null> {
    await this.open();
    const [value, version] = await this.redis.hmget(this.key(namespace, `v:${id}`), 'value', 'version');
    return value == null || version == null ? null : { value, version };
  }

  async casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    await this.open();
    const ttl = ttlMs === null ? '' : Math.max(1, Math.ceil(ttlMs));
    return (await this.lua.rakitRecordCas(this.key(namespace, `v:${id}`), this.key(namespace, 'ver'), this.key(namespace, 'index'),
      this.key(namespace, 'expiry'), version ?? '', value, ttl, id, this.key(namespace, 'v:'))) === 1;
  }

  async deleteRecord(namespace: string, id: string, version?: string): Promise<boolean> {
    await this.open();
    return (await this.lua.rakitRecordDelete(this.key(namespace, `v:${id}`), this.key(namespace, 'index'), this.key(namespace, 'expiry'), version ?? '', id)) === 1;
  }

  async listRecords(namespace: string, limit: number): Promise<ListedRecord[]> {
    if (limit <= 0) return [];
    await this.open();
    const flat = await this.lua.rakitRecordList(this.key(namespace, 'index'), this.key(namespace, 'expiry'), this.key(namespace, 'v:'), Math.floor(limit));
    const out: ListedRecord[] = [];
    for (let i = 0; i < flat.length; i += 3) out.push({ id: flat[i]!, value: flat[i + 1]!, version: flat[i + 2]! });
    return out;
  }
}

/**
 * KEYS: record, version counter, index, expiry. ARGV: expected version ('' for absent), value,
 * time to live in ms ('' for none), id, record key prefix. → 1 written | 0 another write came first
 */
const CAS = `
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
local version = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'version', tostring(version))
redis.call('ZADD', KEYS[3], version, ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if ARGV[3] == '' then
  redis.call('PERSIST', KEYS[1])
  redis.call('ZREM', KEYS[4], ARGV[4])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[3]), ARGV[4])
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 10)) do
  if redis.call('EXISTS', ARGV[5] .. id) == 0 then
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
  end
end
return 1
`;

/** KEYS: record, index, expiry. ARGV: version ('' for any), id. → 1 deleted | 0 */
const DELETE = `
local current = redis.call('HGET', KEYS[1], 'version')
if not current or (ARGV[1] ~= '' and current ~= ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`;

/**
 * KEYS: index, expiry. ARGV: record key prefix, limit. Walks the index newest first, dropping
 * the entries of records that have expired. → flat: id, value, version of each live record
 */
const LIST = `
local prefix, limit = ARGV[1], tonumber(ARGV[2])
local out, found, offset = {}, 0, 0
while found < limit do
  local ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + math.max(limit - found, 16) - 1)
  if #ids == 0 then break end
  local gone = 0
  for _, id in ipairs(ids) do
    local r = redis.call('HMGET', prefix .. id, 'value', 'version')
    if not r[2] then
      gone = gone + 1
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
    elseif found < limit then
      found = found + 1
      out[#out + 1], out[#out + 2], out[#out + 3] = id, r[1], r[2]
    end
  end
  offset = offset + #ids - gone
end
return out
`;
