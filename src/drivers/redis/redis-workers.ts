/**
 * The `redis` driver's worker registry (WorkerRegistry), under one hash tag so each step is one
 * script on one slot:
 *   P:{~workers}:live     HASH id → the worker's last beat (JSON)
 *   P:{~workers}:beats    ZSET id → its last beat time (who is lost, in one range)
 *   P:{~workers}:stopped  ZSET id → when it stopped (the newest STOPPED_KEPT are kept)
 *   P:{~workers}:ended    HASH id → why it stopped, a newline, then its last beat (JSON)
 * A worker whose beats stopped coming is moved to the stopped ones as `lost` (stopped at its last
 * beat) when the list is read; a beat from it after all (Redis was out of reach, say) brings it back.
 */
import {
  LIVE_WITHIN_MS, STOPPED_KEPT, type WorkerBeat, type WorkerEnd, type WorkerRecord, type WorkerRegistry,
} from '../../store/admin-store.ts';
import type { RedisClient } from './redis-connection.ts';

type Arg = string | number;
interface Scripted {
  rakitBeat(...keysAndArgs: Arg[]): Promise<number>;
  rakitWorkerStopped(...keysAndArgs: Arg[]): Promise<number>;
  rakitListWorkers(...keysAndArgs: Arg[]): Promise<[string[], string[]]>;
}

export class RedisWorkers implements WorkerRegistry {
  private readonly lua: Scripted;
  private readonly keys: string[];

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly open: () => Promise<void>,
  ) {
    redis.defineCommand('rakitBeat', { lua: BEAT, numberOfKeys: 4 });
    redis.defineCommand('rakitWorkerStopped', { lua: STOPPED, numberOfKeys: 4 });
    redis.defineCommand('rakitListWorkers', { lua: LIST, numberOfKeys: 4 });
    this.lua = redis as unknown as Scripted;
    this.keys = ['live', 'beats', 'stopped', 'ended'].map((part) => `${prefix}:{~workers}:${part}`);
  }

  async beat(beat: WorkerBeat): Promise<void> {
    await this.open();
    await this.lua.rakitBeat(...this.keys, beat.id, JSON.stringify(beat), beat.beatAt);
  }

  async workerStopped(id: string, end: WorkerEnd, at: number): Promise<void> {
    await this.open();
    await this.lua.rakitWorkerStopped(...this.keys, id, end, at, STOPPED_KEPT, JSON.stringify(unseen(id, at)));
  }

  async listWorkers(now: number): Promise<WorkerRecord[]> {
    await this.open();
    const [live, stopped] = await this.lua.rakitListWorkers(...this.keys, now - LIVE_WITHIN_MS, STOPPED_KEPT);
    const workers: WorkerRecord[] = [];
    for (const json of live) workers.push({ ...(JSON.parse(json) as WorkerBeat), stoppedAt: null, end: null });
    workers.sort((a, b) => b.startedAt - a.startedAt);
    for (let i = 0; i < stopped.length; i += 2) {
      const text = stopped[i]!;
      const nl = text.indexOf('\n');
      workers.push({ ...(JSON.parse(text.slice(nl + 1)) as WorkerBeat), stoppedAt: Number(stopped[i + 1]), end: text.slice(0, nl) as WorkerEnd });
    }
    return workers;
  }
}

/** What is known of a worker that stopped before its first beat: what its id (`host:pid:startedAt`) says. */
function unseen(id: string, at: number): WorkerBeat {
  const [startedAt, pid, ...host] = id.split(':').reverse();
  return {
    id, host: host.reverse().join(':'), pid: Number(pid) || 0, queues: null, running: [],
    startedAt: Number(startedAt) || at, beatAt: at, done: 0, failed: 0,
  };
}

/** Lua: `trim(stopped, ended, kept)` keeps the newest `kept` stopped workers. */
const TRIM = `local function trim(stopped, ended, kept)
  local extra = redis.call('ZCARD', stopped) - kept
  if extra <= 0 then return end
  local old = redis.call('ZRANGE', stopped, 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', stopped, 0, extra - 1)
  redis.call('HDEL', ended, unpack(old))
end
`;

/**
 * KEYS: live, beats, stopped, ended. ARGV: id, beat JSON, beat time. Stores the beat, unless the
 * worker stopped (a last beat racing its stop); one taken for lost comes back. → 1 | 0
 */
const BEAT = `
local id = ARGV[1]
if redis.call('ZSCORE', KEYS[3], id) then
  local ended = redis.call('HGET', KEYS[4], id)
  if ended and string.sub(ended, 1, 5) ~= 'lost\\n' then return 0 end
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], id)
return 1
`;

/**
 * KEYS: live, beats, stopped, ended. ARGV: id, end, stopped at, how many to keep, the beat to keep
 * when none came. The worker moves to the stopped ones with its last beat (a stopped one gets
 * the new end and time). → 1
 */
const STOPPED = `
${TRIM}local id = ARGV[1]
local beat = redis.call('HGET', KEYS[1], id)
if not beat then
  -- Stopped or lost already (the manager tells why a lost one ended): keep the beat it had.
  local ended = redis.call('HGET', KEYS[4], id)
  beat = ended and string.sub(ended, string.find(ended, '\\n', 1, true) + 1) or ARGV[5]
end
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HSET', KEYS[4], id, ARGV[2] .. '\\n' .. beat)
redis.call('ZADD', KEYS[3], ARGV[3], id)
trim(KEYS[3], KEYS[4], tonumber(ARGV[4]))
return 1
`;

/**
 * KEYS: live, beats, stopped, ended. ARGV: last beat time of a live worker (older ones are lost),
 * how many stopped ones to keep. Moves the lost ones to the stopped ones, then → {live beats},
 * {stopped record, stopped at, ...} newest first.
 */
const LIST = `
${TRIM}local lost = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'WITHSCORES')
for i = 1, #lost, 2 do
  local id = lost[i]
  local beat = redis.call('HGET', KEYS[1], id)
  if beat then
    redis.call('HSET', KEYS[4], id, 'lost\\n' .. beat)
    redis.call('ZADD', KEYS[3], lost[i + 1], id)
  end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
if #lost > 0 then trim(KEYS[3], KEYS[4], tonumber(ARGV[2])) end
local live = redis.call('HVALS', KEYS[1])
local ids = redis.call('ZREVRANGE', KEYS[3], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
local stopped = {}
for i = 1, #ids, 2 do
  local ended = redis.call('HGET', KEYS[4], ids[i])
  if ended then
    stopped[#stopped + 1] = ended
    stopped[#stopped + 1] = ids[i + 1]
  end
end
return {live, stopped}
`;
