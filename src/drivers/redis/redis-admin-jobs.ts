/**
 * The `redis` driver's Jobs page (BrowsableQueue): pending jobs listed by state at the driver's
 * clock, searched, cancelled and run now. A page reads ids and scores from the queue's sorted
 * sets first and the records of the jobs it shows only; a search by name reads each job's
 * header line (GETRANGE), never its payload. Each change is one script on the queue's slot.
 *
 * A job's state: in P:{Q}:pending, ready when due, else scheduled; in P:{Q}:reserved, reserved
 * while its lease runs, else ready again (due at its lease end, where the next claim puts it).
 * A reserved job's due time is in its claim token (`token@due`, see redis-scripts.ts).
 */
import type { BrowsableQueue, JobPage, JobQuery, JobState, JobSummary } from '../../store/admin-store.ts';
import { inQueue, jobState, matchesJob, matchesQueue, searchOf, type JobSearch } from '../../store/job-view.ts';
import { compareDue } from '../../store/claims/queue-policy.ts';
import { parseId, type RedisKeys } from './redis-failed.ts';
import { LOAD, parseRecord } from './redis-scripts.ts';

type Arg = string | number;
interface Scripted {
  rakitPeek(...keysAndArgs: Arg[]): Promise<(string | null)[]>;
  rakitCancel(...keysAndArgs: Arg[]): Promise<number>;
  rakitRunNow(...keysAndArgs: Arg[]): Promise<number>;
}

/** What PEEK read of one job: its record (or header line), scores, attempts and token, null where none. */
export type Peeked = [rec: string | null, pending: string | null, reserved: string | null, att: string | null, tok: string | null];

/** A job's place in the claim order, before its record is read. */
interface Entry {
  queue: string;
  m: string;
  id: string;
  scheduledAt: number;
  state: JobState;
}

const ALL_STATES: JobState[] = ['ready', 'scheduled', 'reserved'];
/** Members per PEEK call. */
const PEEK_BATCH = 500;

export class RedisAdminJobs implements BrowsableQueue {
  private readonly lua: Scripted;

  constructor(private readonly store: RedisKeys) {
    store.redis.defineCommand('rakitPeek', { lua: PEEK, numberOfKeys: 4 });
    store.redis.defineCommand('rakitCancel', { lua: CANCEL, numberOfKeys: 5 });
    store.redis.defineCommand('rakitRunNow', { lua: RUN_NOW, numberOfKeys: 1 });
    this.lua = store.redis as unknown as Scripted;
  }

  async listJobs(query: JobQuery): Promise<JobPage> {
    await this.store.open();
    const now = this.store.clock.now();
    const offset = Math.max(0, query.offset);
    const limit = Math.max(0, Math.min(query.limit, 500));
    const states = query.state ? [query.state] : ALL_STATES;
    const search = searchOf(query);
    // A search that reads as an id (`queue/17`) looks up that job alone, without reading every job's
    // name: no queue or class name holds a `/` (only a legacy listener's name could).
    const byId = query.search?.includes('/') ? parseId(query.search) : null;
    if (byId) {
      const job = await this.getJob(query.search!);
      const match = job !== null && states.includes(job.state) && (query.queue === null || inQueue(job.queue, query.queue));
      return { jobs: match && offset === 0 && limit > 0 ? [job] : [], total: match ? 1 : 0 };
    }
    const queues = query.queue !== null ? [query.queue, ...(await this.store.queues()).filter((q) => q !== query.queue && inQueue(q, query.queue!))] : await this.store.queues();
    let total = 0;
    const entries: Entry[] = [];
    await Promise.all(queues.map(async (queue) => {
      if (search === null || matchesQueue(search, queue)) {
        const found = await this.entries(queue, states, now, offset + limit);
        total += found.count;
        entries.push(...found.entries);
      } else {
        const named = await this.named(queue, (await this.entries(queue, states, now, Infinity)).entries, search);
        total += named.length;
        entries.push(...named);
      }
    }));
    const page = entries.sort(compareDue).slice(offset, offset + limit);
    return { jobs: await this.summaries(page, now), total };
  }

  async getJob(id: string): Promise<JobSummary | null> {
    const parsed = parseId(id);
    if (!parsed) return null;
    await this.store.open();
    const [peeked] = await this.peek(parsed.queue, [parsed.m], true);
    return judge(parsed.queue, parsed.m, peeked!, this.store.clock.now());
  }

  async cancelJob(id: string): Promise<boolean> {
    const parsed = parseId(id);
    if (!parsed) return false;
    await this.store.open();
    const { queue, m } = parsed;
    const k = (part: string) => this.store.k(queue, part);
    return (await this.lua.rakitCancel(k('pending'), k('reserved'), k('overlap'), k('att'), k('tok'),
      this.store.jobPrefix(queue), m, this.store.clock.now())) === 1;
  }

  async runJobNow(id: string): Promise<boolean> {
    const parsed = parseId(id);
    if (!parsed) return false;
    await this.store.open();
    return (await this.lua.rakitRunNow(this.store.k(parsed.queue, 'pending'), parsed.m, this.store.clock.now(), this.store.channel(parsed.queue))) === 1;
  }

  /** The jobs of `queue` in `states`, at most `need` of each sorted set's range, with how many there are in all. */
  private async entries(queue: string, states: readonly JobState[], now: number, need: number): Promise<{ count: number; entries: Entry[] }> {
    const pending = this.store.k(queue, 'pending');
    const reserved = this.store.k(queue, 'reserved');
    const ranges: [key: string, min: string, max: string, state: JobState][] = [];
    if (states.includes('ready')) ranges.push([pending, '-inf', String(now), 'ready'], [reserved, '-inf', String(now), 'ready']);
    if (states.includes('scheduled')) ranges.push([pending, `(${now}`, '+inf', 'scheduled']);
    if (states.includes('reserved')) ranges.push([reserved, `(${now}`, '(+inf', 'reserved']); // not HELD_MARK
    const redis = this.store.redis;
    const read = await Promise.all(ranges.map(async ([key, min, max, state]) => {
      // A reserved job sorts by its due time, not its lease end: read them all (as many as are running).
      const all = state === 'reserved' || !Number.isFinite(need);
      const args: Arg[] = [key, min, max, 'WITHSCORES', ...(all ? [] : ['LIMIT', 0, need])];
      const [flat, count] = await Promise.all([redis.call('ZRANGEBYSCORE', ...args) as Promise<string[]>, all ? null : redis.zcount(key, min, max)]);
      const found: Entry[] = [];
      for (let i = 0; i < flat.length; i += 2) found.push({ queue, m: flat[i]!, id: idOf(queue, flat[i]!), scheduledAt: Number(flat[i + 1]), state });
      if (state === 'reserved' && found.length > 0) {
        const toks = await redis.hmget(this.store.k(queue, 'tok'), ...found.map((e) => e.m));
        found.forEach((e, i) => (e.scheduledAt = dueOf(toks[i] ?? null) ?? e.scheduledAt));
      }
      return { count: count ?? found.length, found };
    }));
    return { count: read.reduce((n, r) => n + r.count, 0), entries: read.flatMap((r) => r.found) };
  }

  /** The entries the search matches by id or job name, reading header lines only. */
  private async named(queue: string, entries: Entry[], search: JobSearch): Promise<Entry[]> {
    const batches = Array.from({ length: Math.ceil(entries.length / PEEK_BATCH) }, (_, i) => entries.slice(i * PEEK_BATCH, (i + 1) * PEEK_BATCH));
    const kept = await Promise.all(batches.map(async (batch) => {
      const peeked = await this.peek(queue, batch.map((e) => e.m), false);
      return batch.filter((_, n) => {
        const rec = peeked[n]![0];
        return rec !== null && matchesJob(search, { id: batch[n]!.id, name: parseRecord(rec)[0], queue });
      });
    }));
    return kept.flat();
  }

  /** The page's jobs with their records, one PEEK per queue. */
  private async summaries(page: readonly Entry[], now: number): Promise<JobSummary[]> {
    const byQueue = new Map<string, Entry[]>();
    for (const e of page) byQueue.set(e.queue, [...(byQueue.get(e.queue) ?? []), e]);
    const jobs = new Map<string, JobSummary | null>();
    await Promise.all([...byQueue].map(async ([queue, entries]) => {
      const peeked = await this.peek(queue, entries.map((e) => e.m), true);
      entries.forEach((e, i) => jobs.set(e.id, judge(queue, e.m, peeked[i]!, now)));
    }));
    return page.map((e) => jobs.get(e.id)).filter((job): job is JobSummary => !!job);
  }

  /** What is stored of each job: its whole record, or its header line only (`whole` false). */
  async peek(queue: string, members: readonly string[], whole: boolean): Promise<Peeked[]> {
    const k = (part: string) => this.store.k(queue, part);
    const flat = await this.lua.rakitPeek(k('pending'), k('reserved'), k('att'), k('tok'), this.store.jobPrefix(queue), whole ? '1' : '0', ...members);
    return members.map((_, i) => flat.slice(i * 5, i * 5 + 5) as Peeked);
  }
}

/** The job as the Jobs page shows it, from what PEEK read; null when it is not pending. */
export function judge(queue: string, m: string, [rec, pending, reserved, att, tok]: Peeked, now: number): JobSummary | null {
  if (rec === null) return null;
  const [name, createdAt, overlapKey, payload] = parseRecord(rec);
  const job = { id: idOf(queue, m), name, queue, payload, attempts: Number(att ?? 0), createdAt, overlapKey };
  const lease = reserved === null ? null : Number(reserved);
  // Held: due as its token says; a lapsed lease: due at its end (where the next claim puts it).
  const due = lease !== null && lease > now ? (dueOf(tok) ?? createdAt) : (lease ?? (pending === null ? null : Number(pending)));
  if (due === null) return null;
  const state = jobState(due, lease, now);
  return { ...job, state, scheduledAt: due, reservedUntil: state === 'reserved' ? lease : null };
}

function idOf(queue: string, m: string): string {
  return `${queue}/${Number(m)}`;
}

/** The due time a claim token carries (`token@due`), or null for a token of an earlier version. */
function dueOf(tok: string | null): number | null {
  const at = tok?.lastIndexOf('@') ?? -1;
  return at < 0 ? null : Number(tok!.slice(at + 1));
}

/**
 * KEYS: pending, reserved, att, tok. ARGV: job key prefix, '1' for whole records or '0' for
 * header lines, members... → per member: record (or header line), pending score, reserved
 * score, attempts, token; nil where none.
 */
const PEEK = `
${LOAD}local out = {}
for i = 3, #ARGV do
  local m, jk = ARGV[i], ARGV[1] .. ARGV[i]
  local rec, old
  if ARGV[2] == '1' then
    rec, old = load(jk)
  else
    rec = redis.pcall('GETRANGE', jk, 0, 1023)
    if type(rec) == 'table' then rec, old = load(jk)
    elseif rec == '' then rec = false
    elseif not string.find(rec, '\\n', 1, true) then rec = redis.call('GET', jk) end
    local nl = rec and string.find(rec, '\\n', 1, true)
    if nl then rec = string.sub(rec, 1, nl) end
  end
  local att = redis.call('HGET', KEYS[3], m)
  if not att and old and old > 0 then att = tostring(old) end
  local n = #out
  out[n + 1], out[n + 2], out[n + 3] = rec or false, redis.call('ZSCORE', KEYS[1], m), redis.call('ZSCORE', KEYS[2], m)
  out[n + 4], out[n + 5] = att or false, redis.call('HGET', KEYS[4], m)
end
return out
`;

/**
 * KEYS: pending, reserved, overlap, att, tok. ARGV: job key prefix, member, now. Deletes a
 * pending job, or one whose lease lapsed, freeing its overlap key; never one under a lease. → 1 | 0
 */
const CANCEL = `
${LOAD}local m, jk = ARGV[2], ARGV[1] .. ARGV[2]
if not redis.call('ZSCORE', KEYS[1], m) then
  local lease = redis.call('ZSCORE', KEYS[2], m)
  if not lease or tonumber(lease) > tonumber(ARGV[3]) then return 0 end
end
local rec = load(jk)
if rec then
  local _, _, okey = fields(rec)
  if okey ~= '' and redis.call('HGET', KEYS[3], okey) == m then redis.call('HDEL', KEYS[3], okey) end
end
redis.call('DEL', jk)
redis.call('ZREM', KEYS[1], m)
redis.call('ZREM', KEYS[2], m)
redis.call('HDEL', KEYS[4], m)
redis.call('HDEL', KEYS[5], m)
if rec then return 1 end
return 0
`;

/** KEYS: pending. ARGV: member, now, channel. A job not yet due becomes due now. → 1 | 0 */
const RUN_NOW = `
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) <= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], '1')
return 1
`;
