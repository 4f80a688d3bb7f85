/**
 * The Lua scripts of the `redis` driver's failed store (redis-failed.ts), each on one queue's keys
 * (one slot in a cluster): a filtered newest-first page, the counts per job name, putting many
 * failed jobs back, and forgetting many. A failed job is the hash P:{Q}:f:<m>, listed in
 * P:{Q}:failed by failed time.
 */
import { PACK } from './redis-scripts.ts';

/** Whether member `m` (score `s`) matches: past the cursor's tie, of the name, holding the error. */
const MATCH = `
local function matches(m, s, tieScore, tie, queue, prefix, name, err)
  if tie ~= '' and tonumber(s) == tieScore then
    local id = queue .. '/' .. tonumber(m)
    if #id > #tie or (#id == #tie and id >= tie) then return false end
  end
  if name == '' and err == '' then return true end
  local f = redis.call('HMGET', prefix .. m, 'name', 'exception')
  if name ~= '' and f[1] ~= name then return false end
  if err ~= '' and not string.find(string.lower(f[2] or ''), err, 1, true) then return false end
  return true
end
`;

/**
 * KEYS: failed. ARGV: hash prefix, queue, max score, tie id ('' none), min score, limit, budget,
 * name ('' any), error in lower case ('' any). Looks at most `budget` members newest first from
 * the max (of those at the max score, only ids below the tie id) and returns
 * {exhausted 1|0, last member looked at, its score, member, score, ...} of at most `limit` matches.
 */
export const LIST_FAILED = `${MATCH}
local limit, budget, tieScore = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[3])
local out, off, last, lastScore = {}, 0, '', ''
while off < budget do
  local chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[3], ARGV[5], 'WITHSCORES', 'LIMIT', off, 250)
  if #chunk == 0 then return {1, last, lastScore, unpack(out)} end
  for i = 1, #chunk, 2 do
    last, lastScore = chunk[i], chunk[i + 1]
    if matches(last, lastScore, tieScore, ARGV[4], ARGV[2], ARGV[1], ARGV[8], ARGV[9]) then
      out[#out + 1] = last
      out[#out + 1] = lastScore
      if #out >= 2 * limit then return {0, last, lastScore, unpack(out)} end
    end
  end
  off = off + #chunk / 2
end
return {0, last, lastScore, unpack(out)}
`;

/**
 * KEYS: failed. ARGV: hash prefix, max score, min score, offset, count, name ('' any), error in lower case.
 * → {members looked at, name, matches, name, matches, ...}
 */
export const COUNT_FAILED = `${MATCH}
local chunk = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[3], 'LIMIT', ARGV[4], ARGV[5])
local counts, out = {}, {#chunk}
for _, m in ipairs(chunk) do
  if matches(m, 0, nil, '', '', ARGV[1], ARGV[6], ARGV[7]) then
    local name = redis.call('HGET', ARGV[1] .. m, 'name')
    if name then counts[name] = (counts[name] or 0) + 1 end
  end
end
for name, n in pairs(counts) do
  out[#out + 1] = name
  out[#out + 1] = n
end
return out
`;

/**
 * KEYS: failed, pending, overlap, seq. ARGV: failed hash prefix, job key prefix, due, now, channel,
 * members... Each member put back in one step: the job pushed again (its overlap key checked as
 * PUSH does) and the failed hash deleted. → per member: its new member, 0 (missing) or -1 (overlap key held)
 */
export const REQUEUE_FAILED = `
${PACK}local out, any = {}, false
for i = 6, #ARGV do
  local fkey = ARGV[1] .. ARGV[i]
  local f = redis.call('HMGET', fkey, 'name', 'payload', 'okey')
  local okey = f[3] or ''
  if not f[1] then
    out[#out + 1] = 0
  elseif okey ~= '' and redis.call('HGET', KEYS[3], okey) and redis.call('EXISTS', ARGV[2] .. redis.call('HGET', KEYS[3], okey)) == 1 then
    out[#out + 1] = -1
  else
    local m = string.format('%012d', redis.call('INCR', KEYS[4]))
    redis.call('SET', ARGV[2] .. m, pack(f[1], ARGV[4], okey, f[2]))
    redis.call('DEL', fkey)
    redis.call('ZREM', KEYS[1], ARGV[i])
    if okey ~= '' then redis.call('HSET', KEYS[3], okey, m) end
    redis.call('ZADD', KEYS[2], ARGV[3], m)
    out[#out + 1] = m
    any = true
  end
end
if any then redis.call('PUBLISH', ARGV[5], '1') end
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
