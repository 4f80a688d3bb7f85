/**
 * The `redis` driver's failed store behind `job:failed`, `job:forget`, `job:flush` and `job:retry`.
 * A failed job is a hash P:{Q}:f:<m> listed in the queue's P:{Q}:failed sorted set by failed time
 * (the worker's FAIL script writes them). A page is a script per queue that walks its sorted set
 * newest first and filters there (redis-failed-scripts.ts), the queues' matches merged in the
 * order of store/failed/failed-view.ts; a requeue or forget of many is one script per queue.
 */
import type { Clock } from '../../infra/clock.ts';
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, Requeued } from '../../store/driver.ts';
import { addCount, compareNewest, cursorAfter, errorPart, pageLimit, parseCursor } from '../../store/failed/failed-view.ts';
import { COUNT_FAILED, FORGET_FAILED, LIST_FAILED, REQUEUE_FAILED } from './redis-failed-scripts.ts';
import type { RedisClient } from './redis-connection.ts';
import { MEMBER } from './redis-scripts.ts';

/** What the failed store needs of the driver: its client, its keys and its queue list. */
export interface RedisKeys {
  readonly redis: RedisClient;
  readonly clock: Clock;
  /** The key `part` of `queue`: `P:{queue}:part`. */
  k(queue: string, part: string): string;
  jobPrefix(queue: string): string;
  /** The channel a queue's wake messages go to. */
  channel(queue: string): string;
  /** Every queue that ever had a job pushed. */
  queues(): Promise<string[]>;
  open(): Promise<void>;
}

type Arg = string | number;
interface Scripted {
  rakitListFailed(...keysAndArgs: Arg[]): Promise<[number, string, string, string[]]>;
  rakitCountFailed(...keysAndArgs: Arg[]): Promise<(string | number)[]>;
  rakitRequeueFailed(...keysAndArgs: Arg[]): Promise<(string | number)[]>;
  rakitForgetFailed(...keysAndArgs: Arg[]): Promise<number[]>;
}

/** Members a script looks at per call: a few milliseconds of the server's time. */
const BUDGET = 20_000;

/** A match of one queue's listing (a place in the newest-first order, with the failure there, if any). */
interface Found {
  queue: string;
  m: string;
  id: string;
  failedAt: number;
  job?: FailedJob;
}

/** Fields of a match in the listing script's answer. */
const FIELDS = 7;

export class RedisFailedStore implements FailedStore {
  private readonly lua: Scripted;

  constructor(private readonly store: RedisKeys) {
    store.redis.defineCommand('rakitListFailed', { lua: LIST_FAILED, numberOfKeys: 1 });
    store.redis.defineCommand('rakitCountFailed', { lua: COUNT_FAILED, numberOfKeys: 1 });
    store.redis.defineCommand('rakitRequeueFailed', { lua: REQUEUE_FAILED, numberOfKeys: 4 });
    store.redis.defineCommand('rakitForgetFailed', { lua: FORGET_FAILED, numberOfKeys: 1 });
    this.lua = store.redis as unknown as Scripted;
  }

  private async queuesOf(filter: FailedFilter): Promise<string[]> {
    await this.store.open();
    return filter.queue !== null ? [filter.queue] : this.store.queues();
  }

  async listFailed(query: FailedQuery): Promise<FailedPage> {
    const limit = pageLimit(query);
    const after = parseCursor(query.after);
    if (query.after !== null && !after) return { jobs: [], next: null };
    // The highest score a page may take, and of those at it, the ids below the cursor's.
    const capped = query.until !== null && (!after || query.until <= after.failedAt);
    const max = capped ? `(${query.until}` : after ? String(after.failedAt) : '+inf';
    const tie = capped || !after ? '' : after.id;
    const min = query.since === null ? '-inf' : String(query.since);
    const error = errorPart(query) ?? '';
    const found: Found[] = [];
    /** The newest place a queue's look stopped short of its end: nothing past it is known yet. */
    let frontier: Found | null = null;
    for (const queue of await this.queuesOf(query)) {
      const [exhausted, last, lastScore, rows] = await this.lua.rakitListFailed(this.store.k(queue, 'failed'),
        this.store.k(queue, 'f:'), queue, max, tie, min, limit, BUDGET, query.name ?? '', error);
      for (let i = 0; i < rows.length; i += FIELDS) {
        const [m, score, name, payload, exception, attempts, okey] = rows.slice(i, i + FIELDS) as [string, string, string, string, string, string, string];
        const at = found1(queue, m, score);
        found.push({ ...at, job: { id: at.id, jobId: at.id, name, queue, payload, exception, attempts: Number(attempts), overlapKey: okey || null, failedAt: at.failedAt } });
      }
      if (Number(exhausted) !== 1) {
        const stop = found1(queue, last!, lastScore!);
        if (!frontier || compareNewest(stop, frontier) < 0) frontier = stop;
      }
    }
    found.sort(compareNewest);
    const stop: Found | null = frontier;
    const safe = stop ? found.filter((f) => compareNewest(f, stop) <= 0) : found;
    const page = safe.slice(0, limit);
    const jobs = page.map((f) => f.job!);
    if (safe.length > limit) return { jobs, next: cursorAfter(page.at(-1)!) };
    return { jobs, next: stop ? cursorAfter(stop) : null };
  }

  async countFailed(filter: FailedFilter): Promise<FailedCounts> {
    const counts: FailedCounts = { total: 0, byQueue: {}, byName: {} };
    const max = filter.until === null ? '+inf' : `(${filter.until}`;
    const min = filter.since === null ? '-inf' : String(filter.since);
    for (const queue of await this.queuesOf(filter)) {
      let rank: number | '' = '';
      do {
        const [next, ...pairs] = await this.lua.rakitCountFailed(this.store.k(queue, 'failed'), this.store.k(queue, 'f:'),
          max, min, rank, BUDGET, filter.name ?? '', errorPart(filter) ?? '');
        for (let i = 0; i < pairs.length; i += 2) addCount(counts, queue, String(pairs[i]), Number(pairs[i + 1]));
        rank = Number(next) < 0 ? -1 : Number(next);
      } while (rank !== -1);
    }
    return counts;
  }

  async getFailed(id: string): Promise<FailedJob | null> {
    const parsed = parseId(id);
    if (!parsed) return null;
    await this.store.open();
    return toFailed(parsed.queue, parsed.m, await this.store.redis.hgetall(this.store.k(parsed.queue, `f:${parsed.m}`)));
  }

  async requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]> {
    await this.store.open();
    const k = (queue: string, part: string) => this.store.k(queue, part);
    const now = this.store.clock.now();
    return this.perQueue(ids, 'missing', async (queue, members) => {
      const out = await this.lua.rakitRequeueFailed(k(queue, 'failed'), k(queue, 'pending'), k(queue, 'overlap'), k(queue, 'seq'),
        k(queue, 'f:'), this.store.jobPrefix(queue), at, now, this.store.channel(queue), ...members);
      return out.map((o): Requeued => (Number(o) === 0 ? 'missing' : Number(o) === -1 ? 'overlapping' : { jobId: `${queue}/${Number(o)}` }));
    });
  }

  async forgetFailed(ids: readonly string[]): Promise<boolean[]> {
    await this.store.open();
    return this.perQueue(ids, false, async (queue, members) =>
      (await this.lua.rakitForgetFailed(this.store.k(queue, 'failed'), this.store.k(queue, 'f:'), ...members)).map((n) => Number(n) === 1));
  }

  /** One script call per queue (its keys share a slot) for the ids of that queue; `none` for an id that names no failed job. */
  private async perQueue<T>(ids: readonly string[], none: T, call: (queue: string, members: string[]) => Promise<T[]>): Promise<T[]> {
    const out = ids.map(() => none);
    const parsed = ids.map(parseId);
    const byQueue = new Map<string, number[]>();
    parsed.forEach((p, i) => {
      if (p) byQueue.set(p.queue, [...(byQueue.get(p.queue) ?? []), i]);
    });
    await Promise.all([...byQueue].map(async ([queue, indexes]) => {
      const results = await call(queue, indexes.map((i) => parsed[i]!.m));
      indexes.forEach((i, k) => (out[i] = results[k]!));
    }));
    return out;
  }
}

/** A listed member as a position in the newest-first order. */
function found1(queue: string, m: string, score: string): Found {
  return { queue, m, id: `${queue}/${Number(m)}`, failedAt: Number(score) };
}

/** `default/17` → queue `default`, member of 17; null for anything else. */
export function parseId(id: string): { queue: string; m: string } | null {
  const at = id.lastIndexOf('/');
  const n = id.slice(at + 1);
  if (at <= 0 || !/^[1-9]\d{0,11}$/.test(n)) return null;
  return { queue: id.slice(0, at), m: MEMBER(n) };
}

/** A failed job from its hash (null: gone). */
function toFailed(queue: string, m: string, h: Record<string, string>): FailedJob | null {
  if (!h.name) return null;
  const id = `${queue}/${Number(m)}`;
  return {
    id, jobId: id, name: h.name, queue, payload: h.payload ?? '', exception: h.exception ?? '',
    attempts: Number(h.attempts ?? 0), overlapKey: h.okey || null, failedAt: Number(h.failed_at ?? 0),
  };
}

