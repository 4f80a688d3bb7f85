/**
 * The Lua scripts of the redis driver, one per multi-key step, each atomic on the server (those
 * of dispatch are in redis-push.ts, of the failed store in redis-failed.ts).
 * Every key a script touches carries the queue's hash tag (`{queue}`), so a queue lives in one
 * slot and the scripts work on Redis Cluster. Members are zero-padded sequence numbers, so
 * equal scores sort in dispatch order.
 *
 * Keys of queue Q under prefix P:
 *   P:{Q}:seq       counter for job numbers
 *   P:{Q}:j:<m>     the job's record, a string that never changes: a JSON header line
 *                   [name, created, overlap key], then the payload (see `record`)
 *   P:{Q}:pending   ZSET member → due time (ready and scheduled alike)
 *   P:{Q}:reserved  ZSET member → lease end, and HELD_MARK at +inf (see there)
 *   P:{Q}:att       HASH member → attempts so far (absent: none), and HELD_MARK
 *   P:{Q}:tok       HASH member → the job's claim token (the claim's, `@`, the due time it was
 *                   claimed at, which the Jobs page shows), and HELD_MARK
 *   P:{Q}:overlap   HASH overlap key → member holding it
 *   P:{Q}:failed    ZSET member → failed time; P:{Q}:f:<m> the failed job's hash
 *
 * A claim reads one string per job and an ack deletes it; what they change lives in the
 * queue-wide sorted sets and hashes, written once per batch. Redis spends its time per value a
 * script reads, writes and returns, so this is what keeps a job cheap (reading a job as a hash
 * of six fields and writing three back cost 4-6 times as much as reading one string).
 *
 * Earlier versions kept a job as a hash (name, payload, attempts, sched, created, okey, token):
 * the scripts still read those (LOAD), so jobs queued before an upgrade run after it. A claim
 * moves the hash's attempts into P:{Q}:att and gives the job a token of its own, so only the
 * record is read from the hash from then on; a job an old worker held comes back when its
 * lease lapses, as any other.
 */

/**
 * A member of every queue's reserved set (at +inf: no lease ever lapses there, and counts of
 * leases stop short of it) and a field of its att and tok hashes, that never leaves them. It is
 * longer than Redis's zset- and hash-max-listpack-value (64), so they are a skiplist and hash
 * tables from the first claim on. Otherwise they are what a busy worker keeps them at, emptied
 * by every batch of acks and made again by the next claim: fewer than 128 entries, which Redis
 * keeps in a listpack, where adding and removing 50 cost 2 to 2.5 times as much.
 */
export const HELD_MARK = '~ rakit: keeps this key out of the compact listpack encoding; no job is named so ~';

/** Member of sequence number `n`. */
export const MEMBER = (n: number | string) => String(n).padStart(12, '0');

/** The stored record of a job: its header line (JSON has no raw newline), then the payload. */
export function record(name: string, created: number, overlapKey: string | null, payload: string): string {
  return `${JSON.stringify([name, String(created), overlapKey ?? ''])}\n${payload}`;
}

/** A record read back: [name, created, overlap key or null, payload]. */
export function parseRecord(text: string): [string, number, string | null, string] {
  const nl = text.indexOf('\n');
  const [name, created, okey] = JSON.parse(text.slice(0, nl)) as [string, string, string];
  return [name, Number(created), okey || null, text.slice(nl + 1)];
}

/** Lua: `pack(name, created, okey, payload)`, a job's record as `record` writes it. */
export const PACK = `local function pack(name, created, okey, payload)
  return cjson.encode({name, tostring(created), okey or ''}) .. '\\n' .. (payload or '')
end
`;

/**
 * Lua: `load(jk)` → the job's record and the attempts an earlier version kept in it (nil when the
 * job is gone); `fields(rec)` → name, created, okey, payload; `nameOf(rec)`, the name alone.
 */
export const LOAD = `${PACK}local function load(jk)
  local rec = redis.pcall('GET', jk)
  if type(rec) == 'table' and rec.err then
    local h = redis.call('HMGET', jk, 'name', 'created', 'okey', 'payload', 'attempts')
    return pack(h[1], h[2], h[3], h[4]), tonumber(h[5]) or 0
  end
  return rec, 0
end
local function fields(rec)
  local nl = string.find(rec, '\\n', 1, true)
  local h = cjson.decode(string.sub(rec, 1, nl - 1))
  return h[1], h[2], h[3], string.sub(rec, nl + 1)
end
local function nameOf(rec)
  return string.match(rec, '^%["([^"\\\\]*)",') or (fields(rec))
end
`;

/** Lua: `holds(tok, m, token)`, whether the claim with `token` still holds the job. */
const HOLDS = `local function holds(tok, m, token)
  return redis.call('HGET', tok, m) == token
end
`;

/**
 * Lua: `ackAll(reserved, pending, overlap, att, tok, prefix, from)`, the ack of several jobs of
 * one queue, given from ARGV[from] on as member, token and overlap key ('' for none) of each.
 * Each job whose token still holds is deleted and its overlap key freed; then they all leave
 * reserved, pending (where a lapsed lease had put them), att and tok. → {1 | 0, ...}
 */
const ACK_ALL = `local function ackAll(reserved, pending, overlap, att, tok, prefix, from)
  local members = {}
  for i = from, #ARGV, 3 do members[#members + 1] = ARGV[i] end
  if #members == 0 then return {} end
  local toks = redis.call('HMGET', tok, unpack(members))
  local out, gone, keys = {}, {}, {}
  for n, m in ipairs(members) do
    local i = from + (n - 1) * 3
    if toks[n] == ARGV[i + 1] then
      local okey = ARGV[i + 2]
      if okey ~= '' and redis.call('HGET', overlap, okey) == m then redis.call('HDEL', overlap, okey) end
      gone[#gone + 1] = m
      keys[#keys + 1] = prefix .. m
      out[n] = 1
    else
      out[n] = 0
    end
  end
  if #gone > 0 then
    redis.call('DEL', unpack(keys))
    redis.call('HDEL', att, unpack(gone))
    redis.call('HDEL', tok, unpack(gone))
    redis.call('ZREM', reserved, unpack(gone))
    redis.call('ZREM', pending, unpack(gone))
  end
  return out
end
`;

/**
 * KEYS: pending, reserved, att, tok, overlap. ARGV: job key prefix, now, limit, token, default
 * lease ms, leases JSON {name: ms} (only those that differ from the default), names JSON [..] or
 * '', then the acks that ride on this claim as ACK takes them (member, token, overlap key).
 * The acks come first; then lapsed leases go back to pending, due at once; then due jobs are claimed oldest first:
 * attempts + 1, token and lease set, members moved to reserved together. A job's lease ends
 * at now + its lease (the caller works it out the same way); its token is `token@due time`.
 * → the number of acks n, their n results as ACK's, then flat: member, record, attempts, due time of each job
 */
export const CLAIM = `
${LOAD}${ACK_ALL}local prefix, now, limit, token = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local out = ackAll(KEYS[2], KEYS[1], KEYS[5], KEYS[3], KEYS[4], prefix, 8)
table.insert(out, 1, #out)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 100)
if #lapsed > 0 then
  local back, gone = {}, {}
  for i = 1, #lapsed, 2 do
    gone[#gone + 1] = lapsed[i]
    back[#back + 1] = lapsed[i + 1]
    back[#back + 1] = lapsed[i]
  end
  redis.call('ZREM', KEYS[2], unpack(gone))
  redis.call('ZADD', KEYS[1], unpack(back))
end
local leases = cjson.decode(ARGV[6])
-- No lease of its own for any name: every job gets the default, and no record is looked into.
local defaultMs = tonumber(ARGV[5])
local everyLease = next(leases) == nil and defaultMs or nil
local names = nil
if ARGV[7] ~= '' then
  names = {}
  for _, n in ipairs(cjson.decode(ARGV[7])) do names[n] = true end
end
local count, offset, examined = 0, 0, 0
while count < limit and examined < 10000 do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', offset, limit - count)
  if #batch == 0 then break end
  local taken, claimed, recs, scheds, old, keys = {}, {}, {}, {}, {}, {}
  for i = 1, #batch, 2 do keys[#keys + 1] = prefix .. batch[i] end
  -- One read for the batch; a record MGET cannot read (none, or a hash of an earlier version) is looked at alone.
  local read = redis.call('MGET', unpack(keys))
  for i = 1, #batch, 2 do
    local m = batch[i]
    examined = examined + 1
    local rec, attempts = read[(i + 1) / 2], 0
    if not rec then rec, attempts = load(keys[(i + 1) / 2]) end
    if not rec then
      taken[#taken + 1] = m
    elseif names == nil or names[nameOf(rec)] then
      taken[#taken + 1] = m
      claimed[#claimed + 1] = m
      recs[#claimed], scheds[#claimed], old[#claimed] = rec, batch[i + 1], attempts
    else
      offset = offset + 1
    end
  end
  if #taken > 0 then redis.call('ZREM', KEYS[1], unpack(taken)) end
  if #claimed > 0 then
    local before = redis.call('HMGET', KEYS[3], unpack(claimed))
    local att, tok, leased = {}, {}, {}
    for i, m in ipairs(claimed) do
      local attempts = math.max(tonumber(before[i]) or 0, old[i]) + 1
      local n = #att
      att[n + 1], att[n + 2], tok[n + 1], tok[n + 2] = m, attempts, m, token .. '@' .. scheds[i]
      leased[n + 1], leased[n + 2] = now + (everyLease or leases[nameOf(recs[i])] or defaultMs), m
      n = #out
      out[n + 1], out[n + 2], out[n + 3], out[n + 4] = m, recs[i], attempts, scheds[i]
    end
    count = count + #claimed
    local n = #att
    att[n + 1], att[n + 2], tok[n + 1], tok[n + 2] = '${HELD_MARK}', 1, '${HELD_MARK}', 1
    leased[#leased + 1], leased[#leased + 2] = '+inf', '${HELD_MARK}'
    redis.call('HSET', KEYS[3], unpack(att))
    redis.call('HSET', KEYS[4], unpack(tok))
    redis.call('ZADD', KEYS[2], unpack(leased))
  end
end
return out
`;

/** KEYS: reserved, pending, overlap, att, tok. ARGV: job key prefix, then member, token and overlap key of each job. → {1 | 0, ...} */
export const ACK = `
${ACK_ALL}return ackAll(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], 2)
`;

/** KEYS: reserved, pending, att, tok. ARGV: member, token, at, count attempt ('1'|'0'). → 1 | 0 */
export const RELEASE = `
${HOLDS}local m = ARGV[1]
if not holds(KEYS[4], m, ARGV[2]) then return 0 end
local n = tonumber(redis.call('HGET', KEYS[3], m)) or 0
if ARGV[4] == '0' and n > 0 then n = n - 1 end
redis.call('ZREM', KEYS[1], m)
redis.call('HDEL', KEYS[4], m)
redis.call('HSET', KEYS[3], m, n)
redis.call('ZADD', KEYS[2], ARGV[3], m)
return 1
`;

/**
 * KEYS: reserved, pending, overlap, failed, att, tok. ARGV: job key, member, token, exception,
 * now, failed key. The job leaves its queue (its overlap key freed if it still holds it) and
 * becomes the failed store's hash. → 1 | 0
 */
export const FAIL = `
${HOLDS}${LOAD}local jk, m = ARGV[1], ARGV[2]
if not holds(KEYS[6], m, ARGV[3]) then return 0 end
local name, created, okey, payload = fields((load(jk)))
if okey ~= '' and redis.call('HGET', KEYS[3], okey) == m then redis.call('HDEL', KEYS[3], okey) end
local n = tonumber(redis.call('HGET', KEYS[5], m)) or 0
redis.call('ZREM', KEYS[1], m)
redis.call('ZREM', KEYS[2], m)
redis.call('HDEL', KEYS[5], m)
redis.call('HDEL', KEYS[6], m)
redis.call('DEL', jk)
redis.call('HSET', ARGV[6], 'name', name, 'payload', payload, 'created', created, 'okey', okey,
  'attempts', n, 'exception', ARGV[4], 'failed_at', ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[5], m)
return 1
`;

/** KEYS: pending, overlap, att, tok. ARGV: job key prefix, members... Drops pending jobs (not reserved ones). → how many */
export const CLEAR = `
${LOAD}local n = 0
for i = 2, #ARGV do
  local m = ARGV[i]
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local rec = load(ARGV[1] .. m)
    if rec then
      local _, _, okey = fields(rec)
      if okey ~= '' and redis.call('HGET', KEYS[2], okey) == m then redis.call('HDEL', KEYS[2], okey) end
    end
    redis.call('DEL', ARGV[1] .. m)
    redis.call('HDEL', KEYS[3], m)
    redis.call('HDEL', KEYS[4], m)
    n = n + 1
  end
end
return n
`;
