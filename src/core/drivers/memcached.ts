/**
 * The `memcached` driver (memcache-client), built from atomic primitives only: `add` (create
 * if absent), `incr`, and `gets` + `cas` (compare-and-swap). No shared index is ever read,
 * changed and written back.
 *
 * Layout under prefix P:
 *   P:seq                       job id counter (incr)
 *   P:job:<id>                  the job record (JSON), written once; CAS for a retry's new due time
 *   P:att:<id>                  attempts (incr at claim)
 *   P:lease:<id>                `<token> <until>`: created by `add` (one claimer wins), with a TTL;
 *                               a lapsed one is taken over by CAS
 *   P:ovl:<sha1 of key>         overlap key → holding job id (`add`)
 *   P:q:<queue>:tail / :slot:<n> / :head   the queue as an append-only log; head moves by CAS
 *   P:queues:* and P:failed:*   the queue list and the failed store, append-only the same way
 *
 * Best effort, and said so at worker start: memcached forgets everything on restart and may
 * evict keys under memory pressure, so jobs can be lost. Within that, claims are atomic and a
 * job runs at least once while its records survive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MemcacheClient } from 'memcache-client';
import { idleSocketsLetGo } from './memcached-connection.ts';
import type { Clock } from '../clock.ts';
import { ConnectionError, coerceError } from '../errors.ts';
import type {
  ClearableQueue, Driver, FailedJob, FailedStore, Failure, NewJob, PushResult, QueueStats, ReleaseOptions,
  ReserveRequest, ReservedJob, RetryResult,
} from '../driver.ts';
import { flushFailedOneByOne, hasDueFromStats, leaseFor } from '../driver.ts';

interface JobRecord {
  id: string;
  name: string;
  queue: string;
  payload: string;
  sched: number;
  created: number;
  okey: string | null;
}

interface FailedRecord extends JobRecord {
  attempts: number;
  exception: string;
  failedAt: number;
}

/** Slots read in one step of a look along a log. */
const WINDOW = 2000;
/** Slots a claim looks at first. */
const FIRST_LOOK = 64;
/** How far past the head of a queue a claim looks: jobs further back wait until the head moves. */
const LOOK_LIMIT = 20_000;
/** An empty slot this far behind the tail is no push still under way: the head may pass it. */
const ABANDONED_SLOT_GAP = 10_000;
/** A lease being ended: it never lapses, so nobody can claim the job until its record is gone. */
const TOMBSTONE = `ending ${Number.MAX_SAFE_INTEGER}`;
const CHUNK = 100;
/** No expiry. memcache-client gives keys a 60 s lifetime unless told otherwise, which would drop every job older than a minute. */
const FOREVER = 0;

export const MEMCACHED_WARNING =
  'memcached driver: best effort — jobs are lost if memcached restarts or evicts them under memory pressure; use database or redis for jobs that must not be lost';

export class MemcachedDriver implements Driver, FailedStore, ClearableQueue {
  readonly description: string;
  readonly warning = MEMCACHED_WARNING;
  private readonly client: MemcacheClient;
  private ready: Promise<void> | null = null;
  private readonly registered = new Set<string>();

  constructor(private readonly servers: string, private readonly prefix: string, private readonly clock: Clock) {
    this.description = `memcached (${servers})`;
    const list = servers.split(',').map((s) => s.trim()).filter(Boolean);
    this.client = new MemcacheClient({
      server: list.length === 1 ? list[0]! : { servers: list.map((server) => ({ server, maxConnections: 4 })) },
      cmdTimeout: 5000,
      noDelay: true,
      ignoreNotStored: false,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    } as ConstructorParameters<typeof MemcacheClient>[0]);
    idleSocketsLetGo(this.client);
  }

  private key(...parts: (string | number)[]): string {
    return [this.prefix, ...parts].join(':');
  }

  private open(): Promise<void> {
    this.ready ??= (async () => {
      try {
        await this.client.version();
      } catch (error) {
        this.ready = null;
        throw new ConnectionError(`Cannot reach memcached at ${this.servers}: ${coerceError(error).message} — start memcached or fix MEMCACHED_SERVERS / application/config/job.ts`, { cause: error });
      }
    })();
    return this.ready;
  }

  // ---- atomic primitives ----

  private async get(key: string): Promise<string | undefined> {
    const r = await this.client.get<string>(key);
    return r?.value;
  }

  private async getMany(keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      if (chunk.length === 0) continue;
      const r = (await this.client.get<string>(chunk)) as unknown as Record<string, { value: string }> | undefined;
      for (const [k, v] of Object.entries(r ?? {})) out.set(k, v.value);
    }
    return out;
  }

  /** Creates `key` if absent; true when this call created it. */
  private async add(key: string, value: string, ttlSeconds = FOREVER): Promise<boolean> {
    try {
      await this.client.add(key, value, { lifetime: ttlSeconds });
      return true;
    } catch (error) {
      if (code(error) === 'NOT_STORED') return false;
      throw error;
    }
  }

  /** Increments a counter, creating it at 0 first when missing. */
  private async incr(key: string, by = 1): Promise<number> {
    for (;;) {
      try {
        return Number(await this.client.incr(key, by));
      } catch (error) {
        if (code(error) !== 'NOT_FOUND') throw error;
        await this.add(key, '0');
      }
    }
  }

  /** Replaces `key` when `accept(current)` holds and nobody changed it meanwhile (gets + cas). */
  private async swap(key: string, accept: (current: string) => string | null, ttlSeconds = FOREVER): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const current = await this.client.gets<string>(key);
      if (!current) return false;
      const next = accept(current.value);
      if (next === null) return false;
      try {
        await this.client.cas(key, next, { casUniq: current.casUniq, lifetime: ttlSeconds });
        return true;
      } catch (error) {
        if (code(error) === 'NOT_FOUND') return false;
        if (code(error) !== 'EXISTS') throw error;
      }
    }
    return false;
  }

  /** Deletes `key` only while `accept(value)` holds: CAS it to a tombstone first, then delete. */
  private async deleteIf(key: string, accept: (current: string) => boolean): Promise<boolean> {
    if (!(await this.swap(key, (v) => (accept(v) ? TOMBSTONE : null), 60))) return false;
    await this.client.delete(key).catch(() => undefined);
    return true;
  }

  // ---- append-only logs (queue slots, queue list, failed store) ----

  private async append(log: string, value: string): Promise<number> {
    const n = await this.incr(this.key(log, 'tail'));
    await this.client.set(this.key(log, 'slot', n), value, { lifetime: FOREVER });
    return n;
  }

  /** Slots head+1 .. min(tail, head+window) of a log, with their values (missing = evicted). */
  private async slots(log: string, window = WINDOW): Promise<{ head: number; entries: [number, string | undefined][] }> {
    const { head, tail } = await this.ends(log);
    return { head, entries: await this.range(log, head, Math.min(tail, head + window)) };
  }

  /** A log's head (slots up to it are finished) and tail (its last slot). */
  private async ends(log: string): Promise<{ head: number; tail: number }> {
    const [headText, tailText] = [await this.get(this.key(log, 'head')), await this.get(this.key(log, 'tail'))];
    return { head: Number(headText ?? 0), tail: Number(tailText ?? 0) };
  }

  /** Slots `from` + 1 to `to` of a log, with what each holds. */
  private async range(log: string, from: number, to: number): Promise<[number, string | undefined][]> {
    const numbers = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + 1 + i);
    const values = await this.getMany(numbers.map((n) => this.key(log, 'slot', n)));
    return numbers.map((n) => [n, values.get(this.key(log, 'slot', n))]);
  }

  /** Moves a log's head past the slots that are finished, by CAS (losing a race is fine). */
  private async advance(log: string, head: number, finished: (n: number) => boolean, upTo: number): Promise<void> {
    let next = head;
    while (next < upTo && finished(next + 1)) next++;
    if (next === head) return;
    if (!(await this.swap(this.key(log, 'head'), (v) => (Number(v) === head ? String(next) : null)))) {
      await this.add(this.key(log, 'head'), String(next));
    }
  }

  private async registerQueue(queue: string): Promise<void> {
    if (this.registered.has(queue)) return;
    if ((await this.get(this.key('queue', queue))) === undefined) {
      await this.append('queues', queue);
      await this.add(this.key('queue', queue), '1');
    }
    this.registered.add(queue);
  }

  private async queues(): Promise<string[]> {
    const { entries } = await this.slots('queues', 100_000);
    return [...new Set(entries.map(([, v]) => v).filter((v): v is string => !!v))].sort();
  }

  // ---- the contract ----

  async push(job: NewJob): Promise<PushResult> {
    await this.open();
    await this.registerQueue(job.queue);
    const id = String(await this.incr(this.key('seq')));
    if (job.overlapKey !== null) {
      const holder = await this.takeOverlap(job.overlapKey, id);
      if (holder !== null) return { skipped: 'overlapping', existingId: holder };
    }
    const record: JobRecord = {
      id, name: job.name, queue: job.queue, payload: job.payload, sched: job.scheduledAt, created: this.clock.now(), okey: job.overlapKey,
    };
    await this.client.set(this.key('job', id), JSON.stringify(record), { lifetime: FOREVER });
    await this.append(`q:${job.queue}`, id);
    return { id };
  }

  private overlapKey(key: string): string {
    return this.key('ovl', createHash('sha1').update(key).digest('hex'));
  }

  /** Takes the overlap key for `id`; returns the id already holding it, or null. */
  private async takeOverlap(key: string, id: string): Promise<string | null> {
    const k = this.overlapKey(key);
    for (let i = 0; i < 5; i++) {
      if (await this.add(k, id)) return null;
      const holder = await this.get(k);
      if (holder === undefined) continue;
      if ((await this.get(this.key('job', holder))) !== undefined) return holder;
      // The holder's record is gone (evicted, or its dispatch died): take the key over by CAS.
      if (await this.swap(k, (v) => (v === holder ? id : null))) return null;
    }
    return (await this.get(k)) ?? null;
  }

  private async dropOverlap(key: string | null, id: string): Promise<void> {
    if (key !== null) await this.deleteIf(this.overlapKey(key), (v) => v === id);
  }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    if (request.limit <= 0) return [];
    await this.open();
    const now = this.clock.now();
    const claimed: ReservedJob[] = [];
    const candidates: { record: JobRecord }[] = [];
    for (const queue of request.queues ?? (await this.queues())) {
      const want = request.limit - claimed.length;
      const due = await this.dueRecords(queue, now, request.names, want);
      if (request.queues) {
        claimed.push(...(await this.claimRecords(due, request, now, want)));
        if (claimed.length >= request.limit) break;
      } else candidates.push(...due.map((record) => ({ record })));
    }
    if (!request.queues) {
      const oldest = candidates.map((c) => c.record).sort((a, b) => a.sched - b.sched || Number(a.id) - Number(b.id));
      claimed.push(...(await this.claimRecords(oldest, request, now, request.limit)));
    }
    return claimed;
  }

  /**
   * Due, unleased job records of a queue, oldest first: at least `want` where there are that
   * many within LOOK_LIMIT slots past the head. The look starts with a few slots and widens
   * only when they hold too few due jobs, so a claim of one job reads tens of keys. It goes on
   * past running and finished jobs: a long job at the head does not hide the jobs behind it.
   * The head moves past the finished slots at its front.
   */
  private async dueRecords(queue: string, now: number, names: readonly string[] | null, want: number): Promise<JobRecord[]> {
    const log = `q:${queue}`;
    const { head, tail } = await this.ends(log);
    const due: JobRecord[] = [];
    let from = head;
    let size = Math.max(FIRST_LOOK, want * 2);
    let finishedUpTo = head;
    let atFront = true; // no live slot met yet
    while (from < tail && due.length < want && from - head < LOOK_LIMIT) {
      const to = Math.min(tail, from + size, head + LOOK_LIMIT);
      const entries = await this.range(log, from, to);
      const ids = entries.map(([, id]) => id).filter((id): id is string => !!id);
      const records = await this.getMany(ids.map((id) => this.key('job', id)));
      const leases = await this.getMany(ids.map((id) => this.key('lease', id)));
      for (const [n, id] of entries) {
        const text = id ? records.get(this.key('job', id)) : undefined;
        if (!id || text === undefined) {
          // A job id whose record is gone is a finished job. A slot with no job id is a push
          // between its tail increment and its write, unless it is far behind the tail (its
          // pusher died, or memcached evicted it).
          const finished = id !== undefined || tail - n >= ABANDONED_SLOT_GAP;
          if (!finished) atFront = false;
          else if (atFront) finishedUpTo = n;
          continue;
        }
        atFront = false;
        const record = parseRecord(text, id, queue);
        const lease = leases.get(this.key('lease', id));
        if (lease !== undefined && leaseUntil(lease) > now) continue;
        if (record.sched > now || (names && !names.includes(record.name))) continue;
        due.push(record);
      }
      from = to;
      size = Math.min(WINDOW, size * 4);
    }
    if (finishedUpTo > head) await this.advance(log, head, () => true, finishedUpTo);
    return due.sort((a, b) => a.sched - b.sched || Number(a.id) - Number(b.id));
  }

  private async claimRecords(records: JobRecord[], request: ReserveRequest, now: number, limit: number): Promise<ReservedJob[]> {
    const claimed: ReservedJob[] = [];
    const token = randomBytes(8).toString('hex');
    for (const record of records) {
      if (claimed.length >= limit) break;
      const leaseMs = leaseFor(request.leases, record.name);
      const until = now + leaseMs;
      const value = `${token} ${until}`;
      const ttl = Math.ceil(leaseMs / 1000) + 1;
      const key = this.key('lease', record.id);
      // One claimer wins the add; a lapsed lease (by the workers' clock) is taken over by CAS.
      const won = (await this.add(key, value, ttl)) || (await this.swap(key, (v) => (leaseUntil(v) <= now ? value : null), ttl));
      if (!won) continue;
      // The record may have been finished or rescheduled since we read it: check it again under our lease.
      const current = await this.get(this.key('job', record.id));
      if (current === undefined || parseRecord(current, record.id, record.queue).sched > now) {
        await this.deleteIf(key, (v) => v === value);
        continue;
      }
      const attempts = await this.incr(this.key('att', record.id));
      claimed.push({
        id: record.id, name: record.name, queue: record.queue, payload: record.payload, attempts,
        scheduledAt: record.sched, createdAt: record.created, overlapKey: record.okey, token, reservedUntil: until,
      });
    }
    return claimed;
  }

  private holds(job: ReservedJob) {
    return (lease: string) => lease.split(' ')[0] === job.token;
  }

  /** Ends `job`'s lease if it still holds it: the lease becomes a tombstone until `done` has run. */
  private async ending(job: ReservedJob, done: () => Promise<void>): Promise<boolean> {
    const key = this.key('lease', job.id);
    if (!(await this.swap(key, (v) => (this.holds(job)(v) ? TOMBSTONE : null), 60))) return false;
    await done();
    await this.client.delete(key).catch(() => undefined);
    return true;
  }

  async ack(job: ReservedJob): Promise<boolean> {
    return this.ending(job, () => this.finish(job));
  }

  /** Forgets a job that is done with: its record, attempts and overlap key. */
  private async finish(job: { id: string; overlapKey: string | null }): Promise<void> {
    await this.client.delete(this.key('job', job.id)).catch(() => undefined);
    await this.client.delete(this.key('att', job.id)).catch(() => undefined);
    await this.dropOverlap(job.overlapKey, job.id);
  }

  async release(job: ReservedJob, options: ReleaseOptions): Promise<boolean> {
    return this.ending(job, async () => {
      await this.swap(this.key('job', job.id), (text) => JSON.stringify({ ...JSON.parse(text), sched: options.at }));
      if (!options.countAttempt) await this.client.decr(this.key('att', job.id), 1).catch(() => undefined);
    });
  }

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    const record: FailedRecord = {
      id: job.id, name: job.name, queue: job.queue, payload: job.payload, sched: job.scheduledAt, created: job.createdAt,
      okey: job.overlapKey, attempts: job.attempts, exception: failure.exception, failedAt: this.clock.now(),
    };
    return this.ending(job, async () => {
      // The failed record is written before the job is forgotten: a crash between leaves it in both, never in neither.
      await this.client.set(this.key('failed', 'job', job.id), JSON.stringify(record), { lifetime: FOREVER });
      await this.append('failed', job.id);
      await this.finish(job);
    });
  }

  hasDue(queues: readonly string[] | null): Promise<boolean> {
    return hasDueFromStats(this, queues);
  }

  async stats(): Promise<QueueStats[]> {
    await this.open();
    const now = this.clock.now();
    const byQueue = new Map<string, QueueStats>();
    const entry = (queue: string) => {
      let s = byQueue.get(queue);
      if (!s) byQueue.set(queue, (s = { queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 }));
      return s;
    };
    for (const queue of await this.queues()) {
      const { entries } = await this.slots(`q:${queue}`);
      const ids = entries.map(([, id]) => id).filter((id): id is string => !!id);
      const records = await this.getMany(ids.map((id) => this.key('job', id)));
      const leases = await this.getMany(ids.map((id) => this.key('lease', id)));
      for (const id of ids) {
        const text = records.get(this.key('job', id));
        if (text === undefined) continue;
        const lease = leases.get(this.key('lease', id));
        const s = entry(queue);
        if (lease !== undefined && leaseUntil(lease) > now) s.reserved++;
        else if (parseRecord(text, id, queue).sched <= now) s.ready++;
        else s.scheduled++;
      }
    }
    for (const failed of await this.listFailed(100_000)) entry(failed.queue).failed++;
    return [...byQueue.values()].filter((s) => s.ready + s.scheduled + s.reserved + s.failed > 0).sort((a, b) => a.queue.localeCompare(b.queue));
  }

  async clear(queue: string | null): Promise<number> {
    await this.open();
    let n = 0;
    const token = `clear-${randomBytes(4).toString('hex')}`;
    for (const q of queue === null ? await this.queues() : [queue]) {
      const { entries } = await this.slots(`q:${q}`, 100_000);
      for (const [, id] of entries) {
        if (!id) continue;
        const text = await this.get(this.key('job', id));
        if (text === undefined) continue;
        // Take the job's lease first, so no worker can claim it while it is being dropped.
        if (!(await this.add(this.key('lease', id), `${token} ${Number.MAX_SAFE_INTEGER}`, 60))) continue;
        await this.finish({ id, overlapKey: parseRecord(text, id, q).okey });
        await this.client.delete(this.key('lease', id)).catch(() => undefined);
        n++;
      }
    }
    return n;
  }

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    await this.open();
    const { head, entries } = await this.slots('failed', 100_000);
    const ids = [...new Set(entries.map(([, id]) => id).filter((id): id is string => !!id))];
    const records = await this.getMany(ids.map((id) => this.key('failed', 'job', id)));
    const out: FailedJob[] = [];
    for (const id of ids) {
      const text = records.get(this.key('failed', 'job', id));
      if (text === undefined) continue;
      const r = JSON.parse(text) as FailedRecord;
      out.push({
        id, jobId: id, name: r.name, queue: r.queue, payload: r.payload, exception: r.exception, attempts: r.attempts,
        overlapKey: r.okey, failedAt: r.failedAt,
      });
    }
    const present = new Set(out.map((f) => f.id));
    await this.advance('failed', head, (n) => !present.has(entries[n - head - 1]?.[1] ?? ''), entries.at(-1)?.[0] ?? head);
    return out.sort((a, b) => a.failedAt - b.failedAt || Number(a.id) - Number(b.id)).slice(0, limit);
  }

  async retryFailed(ids: readonly string[] | 'all'): Promise<RetryResult> {
    await this.open();
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    const wanted = ids === 'all' ? (await this.listFailed(Number.MAX_SAFE_INTEGER)).map((f) => f.id) : ids;
    for (const failedId of wanted) {
      const key = this.key('failed', 'job', failedId);
      const text = /^\d{1,15}$/.test(failedId) ? await this.get(key) : undefined;
      if (text === undefined) {
        result.missing.push(failedId);
        continue;
      }
      const r = JSON.parse(text) as FailedRecord;
      const pushed = await this.push({ name: r.name, queue: r.queue, payload: r.payload, scheduledAt: this.clock.now(), overlapKey: r.okey });
      if (pushed.skipped) {
        result.overlapping.push(failedId);
        continue;
      }
      await this.client.delete(key).catch(() => undefined);
      result.retried.push({ failedId, jobId: pushed.id });
    }
    return result;
  }

  async forgetFailed(id: string): Promise<boolean> {
    await this.open();
    if (!/^\d{1,15}$/.test(id)) return false;
    try {
      await this.client.delete(this.key('failed', 'job', id));
      return true;
    } catch (error) {
      if (code(error) === 'NOT_FOUND') return false;
      throw error;
    }
  }

  flushFailed(olderThanMs: number | null): Promise<number> {
    return flushFailedOneByOne(this, olderThanMs);
  }

  /** An evicted mark reads as null, which no worker takes for a restart. */
  async restartRequestedAt(): Promise<number | null> {
    await this.open();
    const value = await this.get(this.key('restart'));
    return value === undefined ? null : Number(value);
  }

  async requestRestart(at: number): Promise<void> {
    await this.open();
    await this.client.set(this.key('restart'), String(at), { lifetime: FOREVER });
  }

  async close(): Promise<void> {
    this.client.shutdown();
  }
}

function code(error: unknown): string {
  const tokens = (error as { cmdTokens?: unknown })?.cmdTokens;
  return Array.isArray(tokens) ? String(tokens[0]) : String((error as Error)?.message ?? '');
}

function leaseUntil(lease: string): number {
  return Number(lease.split(' ')[1] ?? 0);
}

/** A job record; a corrupt one still yields a job (with the raw text as payload) so it can fail cleanly. */
function parseRecord(text: string, id: string, queue: string): JobRecord {
  try {
    const r = JSON.parse(text) as JobRecord;
    if (typeof r.name === 'string') return r;
  } catch {
    // fall through
  }
  return { id, name: '<unreadable job record>', queue, payload: text, sched: 0, created: 0, okey: null };
}
