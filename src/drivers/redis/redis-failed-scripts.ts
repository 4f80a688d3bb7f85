/**
 * The Lua scripts of the `redis` driver's failed store (redis-failed.ts), each on one queue's keys
 * (one slot in a cluster): a filtered newest-first page, the counts per job name, putting many
 * failed jobs back, and forgetting many. A failed job is the hash P:{Q}:f:<m>, listed in
 * P:{Q}:failed by failed time.
 */
import { PACK } from './redis-scripts.ts';

/**
 * Shared by the listing and the counting: where a newest-first walk starts (the rank of the first
 * member at or below `max`, nil when none is), whether a member is past the cursor's tie, and
 * whether its fields `f` (name, payload, exception, ...) match the name and error.
 */
const WALK = `
local function startRank(key, max, min)
  local first = redis.call('ZREVRANGEBYSCORE', key, max, min, 'LIMIT', 0, 1)
  if #first == 0 then return nil end
  return redis.call('ZREVRANK', key, first[1])
end
local function pastTie(m, s, tieScore, tie, queue)
  if tie == '' or tonumber(s) ~= tieScore then return true end
  local id = queue .. '/' .. tonumber(m)
  return #id < #tie or (#id == #tie and id < tie)
end
local function matches(f, name, err)
  if not f[1] then return false end
  if name ~= '' and f[1] ~= name then return false end
  if err ~= '' and not string.find(string.lower(f[3] or ''), err, 1, true) then return false end
  return true
end
`;

/**
 * KEYS: failed. ARGV: hash prefix, queue, max score, tie id ('' none), min score, limit, budget,
 * name ('' any), error in lower case ('' any). Walks at most `budget` members newest first from
 * the max (of those at the max score, only ids below the tie id), by rank, and returns
 * {exhausted 1|0, last member looked at, its score, {member, score, name, payload, exception,
 * attempts, overlap key, ...}} of at most `limit` matches.
 */
export const LIST_FAILED = `${WALK}
local limit, budget, tieScore = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[3])
local lo = nil
if ARGV[5] ~= '-inf' then lo = tonumber(ARGV[5]) end
local out, found, looked, last, lastScore = {}, 0, 0, '', ''
local rank = startRank(KEYS[1], ARGV[3], ARGV[5])
if not rank then return {1, '', '', out} end
while looked < budget do
  local chunk = redis.call('ZREVRANGE', KEYS[1], rank, rank + 249, 'WITHSCORES')
  if #chunk == 0 then return {1, last, lastScore, out} end
  for i = 1, #chunk, 2 do
    local m, s = chunk[i], chunk[i + 1]
    if lo and tonumber(s) < lo then return {1, last, lastScore, out} end
    looked = looked + 1
    last, lastScore = m, s
    if pastTie(m, s, tieScore, ARGV[4], ARGV[2]) then
      local f = redis.call('HMGET', ARGV[1] .. m, 'name', 'payload', 'exception', 'attempts', 'okey')
      if matches(f, ARGV[8], ARGV[9]) then
        for _, v in ipairs({m, s, f[1], f[2] or '', f[3] or '', f[4] or '0', f[5] or ''}) do out[#out + 1] = v end
        found = found + 1
        if found >= limit then return {0, last, lastScore, out} end
      end
    end
  end
  rank = rank + #chunk / 2
end
return {0, last, lastScore, out}
`;

/**
 * KEYS: failed. ARGV: hash prefix, max score, min score, rank to go on from ('' from the max),
 * count, name ('' any), error in lower case. → {rank to go on from (-1: done), name, matches, ...}
 */
export const COUNT_FAILED = `${WALK}
local lo = nil
if ARGV[3] ~= '-inf' then lo = tonumber(ARGV[3]) end
local rank = tonumber(ARGV[4]) or startRank(KEYS[1], ARGV[2], ARGV[3])
local counts, out = {}, {-1}
if rank then
  local chunk = redis.call('ZREVRANGE', KEYS[1], rank, rank + tonumber(ARGV[5]) - 1, 'WITHSCORES')
  local stopped = #chunk < 2 * tonumber(ARGV[5])
  for i = 1, #chunk, 2 do
    if lo and tonumber(chunk[i + 1]) < lo then
      stopped = true
      break
    end
    local f = ARGV[7] == '' and {redis.call('HGET', ARGV[1] .. chunk[i], 'name')} or redis.call('HMGET', ARGV[1] .. chunk[i], 'name', 'payload', 'exception')
    if matches(f, ARGV[6], ARGV[7]) then counts[f[1]] = (counts[f[1]] or 0) + 1 end
  end
  if not stopped then out[1] = rank + #chunk / 2 end
end
for name, n in pairs(counts) do
  out[#out + 1] = name
  out[#out + 1] = n
end
return out
`;

/**
 * KEYS: failed, pending, overlap, seq. ARGV: failed hash prefix, job key prefix, due, now, channel,
 * members... Each member put back (the script is one atomic step): the job pushed again (its
 * overlap key checked as PUSH does) and the failed hash deleted; the sorted sets written once
 * for all. → per member: its new member, 0 (missing) or -1 (overlap key held)
 */
export const REQUEUE_FAILED = `
${PACK}local out, gone, due, dels, seen = {}, {}, {}, {}, {}
for i = 6, #ARGV do
  local fkey = ARGV[1] .. ARGV[i]
  local f = redis.call('HMGET', fkey, 'name', 'payload', 'okey')
  local okey = f[3] or ''
  local holder = okey ~= '' and redis.call('HGET', KEYS[3], okey)
  -- its hash is deleted after the loop: an id given twice is requeued once
  if not f[1] or seen[ARGV[i]] then
    out[#out + 1] = 0
  elseif holder and redis.call('EXISTS', ARGV[2] .. holder) == 1 then
    out[#out + 1] = -1
  else
    local m = string.format('%012d', redis.call('INCR', KEYS[4]))
    redis.call('SET', ARGV[2] .. m, pack(f[1], ARGV[4], okey, f[2]))
    dels[#dels + 1] = fkey
    seen[ARGV[i]] = true
    gone[#gone + 1] = ARGV[i]
    due[#due + 1] = ARGV[3]
    due[#due + 1] = m
    if okey ~= '' then redis.call('HSET', KEYS[3], okey, m) end
    out[#out + 1] = m
  end
end
for i = 1, #gone, 500 do
  local last = math.min(i + 499, #gone)
  redis.call('DEL', unpack(dels, i, last))
  redis.call('ZREM', KEYS[1], unpack(gone, i, last))
  redis.call('ZADD', KEYS[2], unpack(due, 2 * i - 1, 2 * last))
end
if #gone > 0 then redis.call('PUBLISH', ARGV[5], '1') end
return out
`;

/** KEYS: failed. ARGV: failed hash prefix, members... → per member 1 (forgotten) or 0 */
export const FORGET_FAILED = `
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[1] .. ARGV[i])
end
return out
`;
