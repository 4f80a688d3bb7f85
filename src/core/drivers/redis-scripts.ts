/**
 * The Lua scripts of the redis driver, one per multi-key step, each atomic on the server.
 * Every key a script touches carries the queue's hash tag (`{queue}`), so a queue lives in one
 * slot and the scripts work on Redis Cluster. Members are zero-padded sequence numbers, so
 * equal scores sort in dispatch order.
 *
 * Keys of queue Q under prefix P:
 *   P:{Q}:seq       counter for job numbers
 *   P:{Q}:j:<m>     job hash: name, payload, attempts, sched, created, okey, token, until
 *   P:{Q}:pending   ZSET member → due time (ready and scheduled alike)
 *   P:{Q}:reserved  ZSET member → lease end
 *   P:{Q}:overlap   HASH overlap key → member holding it
 *   P:{Q}:failed    ZSET member → failed time; P:{Q}:f:<m> the failed job's hash
 */

/** The member of sequence number `n`. */
export const MEMBER = (n: number | string) => String(n).padStart(12, '0');

/** KEYS: seq, pending, overlap. ARGV: job key prefix, name, payload, sched, now, okey, channel. → {1, m} | {0, holder} */
export const PUSH = `
local okey = ARGV[6]
if okey ~= '' then
  local holder = redis.call('HGET', KEYS[3], okey)
  if holder and redis.call('EXISTS', ARGV[1] .. holder) == 1 then return {0, holder} end
end
local m = string.format('%012d', redis.call('INCR', KEYS[1]))
redis.call('HSET', ARGV[1] .. m, 'name', ARGV[2], 'payload', ARGV[3], 'attempts', 0, 'sched', ARGV[4], 'created', ARGV[5], 'okey', okey)
if okey ~= '' then redis.call('HSET', KEYS[3], okey, m) end
redis.call('ZADD', KEYS[2], ARGV[4], m)
local now = tonumber(ARGV[5])
-- Wake idle workers only when this is the queue's first due job: busy workers come back by themselves.
if tonumber(ARGV[4]) <= now and redis.call('ZCOUNT', KEYS[2], '-inf', now) == 1 then
  redis.call('PUBLISH', ARGV[7], '1')
end
return {1, m}
`;

/**
 * KEYS: pending, reserved. ARGV: job key prefix, now, limit, token, default lease ms,
 * leases JSON {name: ms}, names JSON [..] or ''.
 * Lapsed leases first go back to pending at their due time; then due jobs are claimed oldest
 * first: attempts + 1, token and lease set, members moved to reserved together.
 * → {{m, name, payload, attempts, sched, created, okey, until}, ...}
 */
export const CLAIM = `
local prefix, now, limit, token = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, m in ipairs(lapsed) do
  redis.call('ZREM', KEYS[2], m)
  local sched = redis.call('HGET', prefix .. m, 'sched')
  if sched then redis.call('ZADD', KEYS[1], sched, m) end
end
local leases = cjson.decode(ARGV[6])
local names = nil
if ARGV[7] ~= '' then
  names = {}
  for _, n in ipairs(cjson.decode(ARGV[7])) do names[n] = true end
end
local out, offset, examined = {}, 0, 0
while #out < limit and examined < 10000 do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', offset, limit - #out)
  if #batch == 0 then break end
  local taken, leased = {}, {}
  for _, m in ipairs(batch) do
    examined = examined + 1
    local jk = prefix .. m
    local h = redis.call('HMGET', jk, 'name', 'payload', 'attempts', 'sched', 'created', 'okey')
    local name = h[1]
    if not name then
      taken[#taken + 1] = m
    elseif names == nil or names[name] then
      local until_ = now + (leases[name] or tonumber(ARGV[5]))
      local attempts = (tonumber(h[3]) or 0) + 1
      redis.call('HSET', jk, 'attempts', attempts, 'token', token, 'until', until_)
      taken[#taken + 1] = m
      leased[#leased + 1] = until_
      leased[#leased + 1] = m
      out[#out + 1] = {m, name, h[2], attempts, h[4], h[5], h[6], until_}
    else
      offset = offset + 1
    end
  end
  if #taken > 0 then redis.call('ZREM', KEYS[1], unpack(taken)) end
  if #leased > 0 then redis.call('ZADD', KEYS[2], unpack(leased)) end
end
return out
`;

/**
 * The end of a failed job's place in its queue: its overlap key is freed if it still holds it,
 * and it leaves reserved and pending. KEYS: reserved, pending, overlap; ARGV: job key, member.
 */
const UNQUEUE = `local okey = redis.call('HGET', ARGV[1], 'okey')
if okey and okey ~= '' and redis.call('HGET', KEYS[3], okey) == ARGV[2] then redis.call('HDEL', KEYS[3], okey) end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
`;

/**
 * ack of several jobs of one queue: each job whose token still holds is deleted and its overlap
 * key freed; then they all leave reserved (and pending, where a lapsed lease had put them).
 * KEYS: reserved, pending, overlap. ARGV: job key prefix, then member and token of each job. → {1 | 0, ...}
 */
export const ACK = `
local prefix, out, gone = ARGV[1], {}, {}
for i = 2, #ARGV, 2 do
  local m = ARGV[i]
  local jk = prefix .. m
  local h = redis.call('HMGET', jk, 'token', 'okey')
  if h[1] == ARGV[i + 1] then
    if h[2] and h[2] ~= '' and redis.call('HGET', KEYS[3], h[2]) == m then redis.call('HDEL', KEYS[3], h[2]) end
    redis.call('DEL', jk)
    gone[#gone + 1] = m
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
return out
`;

/** KEYS: reserved, pending. ARGV: job key, member, token, at, count attempt ('1'|'0'). → 1 | 0 */
export const RELEASE = `
if redis.call('HGET', ARGV[1], 'token') ~= ARGV[3] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', ARGV[1], 'token', 'until')
redis.call('HSET', ARGV[1], 'sched', ARGV[4])
if ARGV[5] == '0' and tonumber(redis.call('HGET', ARGV[1], 'attempts')) > 0 then
  redis.call('HINCRBY', ARGV[1], 'attempts', -1)
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
return 1
`;

/** KEYS: reserved, pending, overlap, failed. ARGV: job key, member, token, exception, now, failed key. → 1 | 0 */
export const FAIL = `
if redis.call('HGET', ARGV[1], 'token') ~= ARGV[3] then return 0 end
${UNQUEUE}redis.call('HDEL', ARGV[1], 'token', 'until')
redis.call('HSET', ARGV[1], 'exception', ARGV[4], 'failed_at', ARGV[5])
redis.call('RENAME', ARGV[1], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
return 1
`;

/**
 * KEYS: failed, pending, overlap, seq. ARGV: failed key, failed member, job key prefix, now, channel.
 * → {1, new member} | {0} (missing) | {-1} (overlap key held)
 */
export const RETRY_FAILED = `
if redis.call('EXISTS', ARGV[1]) == 0 then return {0} end
local okey = redis.call('HGET', ARGV[1], 'okey')
if okey and okey ~= '' then
  local holder = redis.call('HGET', KEYS[3], okey)
  if holder and redis.call('EXISTS', ARGV[3] .. holder) == 1 then return {-1} end
end
local m = string.format('%012d', redis.call('INCR', KEYS[4]))
redis.call('RENAME', ARGV[1], ARGV[3] .. m)
redis.call('HDEL', ARGV[3] .. m, 'exception', 'failed_at')
redis.call('HSET', ARGV[3] .. m, 'attempts', 0, 'sched', ARGV[4])
redis.call('ZREM', KEYS[1], ARGV[2])
if okey and okey ~= '' then redis.call('HSET', KEYS[3], okey, m) end
redis.call('ZADD', KEYS[2], ARGV[4], m)
redis.call('PUBLISH', ARGV[5], '1')
return {1, m}
`;

/** KEYS: failed. ARGV: failed key prefix, members... → how many removed */
export const FORGET_FAILED = `
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', ARGV[1] .. ARGV[i])
end
return n
`;

/** KEYS: pending, overlap. ARGV: job key prefix, members... Drops pending jobs (not reserved ones). → how many */
export const CLEAR = `
local n = 0
for i = 2, #ARGV do
  local m = ARGV[i]
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local okey = redis.call('HGET', ARGV[1] .. m, 'okey')
    if okey and okey ~= '' and redis.call('HGET', KEYS[2], okey) == m then redis.call('HDEL', KEYS[2], okey) end
    redis.call('DEL', ARGV[1] .. m)
    n = n + 1
  end
end
return n
`;
