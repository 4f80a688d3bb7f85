/**
 * The `memcached` driver's claim from one queue: a look along the queue's log for due jobs
 * without a live lease, oldest first, then a lease on each: `P:lease:<id>` made by `add` (one
 * claimer wins) or, once lapsed, taken over by CAS, and the job's attempts counted by `incr`.
 * Also the job record format the driver's other steps read.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../infra/clock.ts';
import { claimToken, leaseFor, type ReserveRequest, type ReservedJob } from '../../store/driver.ts';
import type { Memcached } from './memcached-client.ts';
import { WINDOW, type MemcachedLog } from './memcached-log.ts';

export interface JobRecord {
  id: string;
  name: string;
  queue: string;
  payload: string;
  sched: number;
  created: number;
  okey: string | null;
}

/** Slots a claim looks at first. */
const FIRST_LOOK = 64;
/** How far past the head of a queue a claim looks: jobs further back wait until the head moves. */
const LOOK_LIMIT = 20_000;
/** An empty slot this far behind the tail is no push still under way: the head may pass it. */
export const ABANDONED_SLOT_GAP = 10_000;

export class MemcachedClaims {
  constructor(private readonly mc: Memcached, private readonly logs: MemcachedLog, private readonly clock: Clock) {}

  async claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]> {
    const now = this.clock.now();
    return this.claimRecords(await this.dueRecords(queue, now, request.names, limit), request, now, limit);
  }

  /**
   * Due, unleased job records of a queue, oldest first: at least `want` where there are that
   * many within LOOK_LIMIT slots past the head. The look starts with a few slots and widens
   * only when they hold too few due jobs, so a claim of one job reads tens of keys. It goes on
   * past running and finished jobs: a long job at the head does not hide the jobs behind it.
   * The head moves past the finished slots at its front.
   */
  private async dueRecords(queue: string, now: number, names: readonly string[] | null, want: number): Promise<JobRecord[]> {
    const { mc } = this;
    const log = `q:${queue}`;
    const { head, tail } = await this.logs.ends(log);
    const due: JobRecord[] = [];
    let from = head;
    let size = Math.max(FIRST_LOOK, want * 2);
    let finishedUpTo = head;
    let atFront = true; // no live slot met yet
    while (from < tail && due.length < want && from - head < LOOK_LIMIT) {
      const to = Math.min(tail, from + size, head + LOOK_LIMIT);
      const entries = await this.logs.range(log, from, to);
      const ids = entries.map(([, id]) => id).filter((id): id is string => !!id);
      const records = await mc.getMany(ids.map((id) => mc.key('job', id)));
      const leases = await mc.getMany(ids.map((id) => mc.key('lease', id)));
      for (const [n, id] of entries) {
        const text = id ? records.get(mc.key('job', id)) : undefined;
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
        const lease = leases.get(mc.key('lease', id));
        if (lease !== undefined && leaseUntil(lease) > now) continue;
        if (record.sched > now || (names && !names.includes(record.name))) continue;
        due.push(record);
      }
      from = to;
      size = Math.min(WINDOW, size * 4);
    }
    if (finishedUpTo > head) await this.logs.advance(log, head, () => true, finishedUpTo);
    return due.sort((a, b) => a.sched - b.sched || Number(a.id) - Number(b.id));
  }

  private async claimRecords(records: JobRecord[], request: ReserveRequest, now: number, limit: number): Promise<ReservedJob[]> {
    const { mc } = this;
    const claimed: ReservedJob[] = [];
    const token = claimToken(request.owner, randomBytes(8).toString('hex'));
    for (const record of records) {
      if (claimed.length >= limit) break;
      const leaseMs = leaseFor(request.leases, record.name);
      const until = now + leaseMs;
      const value = `${token} ${until}`;
      const ttl = Math.ceil(leaseMs / 1000) + 1;
      const key = mc.key('lease', record.id);
      // One claimer wins the add; a lapsed lease (by the workers' clock) is taken over by CAS.
      const won = (await mc.add(key, value, ttl)) || (await mc.swap(key, (v) => (leaseUntil(v) <= now ? value : null), ttl));
      if (!won) continue;
      // The record may have been finished or rescheduled since we read it: check it again under our lease.
      const current = await mc.get(mc.key('job', record.id));
      if (current === undefined || parseRecord(current, record.id, record.queue).sched > now) {
        await mc.deleteIf(key, (v) => v === value);
        continue;
      }
      const attempts = await mc.incr(mc.key('att', record.id));
      claimed.push({
        id: record.id, name: record.name, queue: record.queue, payload: record.payload, attempts,
        scheduledAt: record.sched, createdAt: record.created, overlapKey: record.okey, token, reservedUntil: until,
      });
    }
    return claimed;
  }
}

/** The end of a lease `<token> <until>` (epoch ms). */
export function leaseUntil(lease: string): number {
  return Number(lease.split(' ')[1] ?? 0);
}

/** A job record; a corrupt one still yields a job (with the raw text as payload) so it can fail cleanly. */
export function parseRecord(text: string, id: string, queue: string): JobRecord {
  try {
    const r = JSON.parse(text) as JobRecord;
    if (typeof r.name === 'string') return r;
  } catch {
    // fall through
  }
  return { id, name: '<unreadable job record>', queue, payload: text, sched: 0, created: 0, okey: null };
}
