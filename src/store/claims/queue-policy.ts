/**
 * Which queue a claim takes from, decided here once for every driver (SPEC §5):
 * - `--queue=high,default,low` is strict priority: the claim takes all it can from the first
 *   queue that has due jobs, then fills what is left from the next, and so on.
 * - `--queue=high:6,default:3,low:1` is weighted (weighted.ts): the free slots go to the queues
 *   in that proportion while all have due jobs; what one cannot fill goes to the others.
 * - Without `--queue`: every queue, oldest due first.
 * - Groups (lanes.ts): a queue whose jobs are in groups is shared round-robin among its lanes
 *   (lane-turns.ts), and without `--queue` every queue and lane takes its turn. While no job of
 *   the store is in a group, claims go as above, with nothing added but a look at the store's
 *   queue names four times a second.
 * A driver only claims from one queue at a time (`claimFrom`). For the oldest-first order it
 * either claims from every queue in one step (`claimOldest`: one query on the database), or lists
 * its queues: then each queue is claimed from at once, the oldest jobs are kept and the rest are
 * given back at once, without counting their attempt.
 * Paused queues (`request.paused`) are skipped on every path; `claimOldest` must skip them itself.
 */
import { coerceError } from '../../infra/errors.ts';
import type { ReleaseOptions, ReserveRequest, ReservedJob } from '../driver.ts';
import { QueueTurns, claimInTurns } from './lane-turns.ts';
import { claimWeighted } from './weighted.ts';
import { queueOfLane } from './lanes.ts';

export { QueueTurns };

interface ClaimsFromOneQueue {
  /** Claims up to `limit` due jobs of `queue`, oldest due first, each under a lease and a claim token. */
  claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]>;
  release(job: ReservedJob, options: ReleaseOptions): Promise<boolean>;
  /** Every queue (and lane) that may hold a due job. */
  queueNames(): Promise<readonly string[]>;
  /** Optional: up to `limit` due jobs of each of several queues in one step (groups' lanes). */
  claimLanes?(lanes: readonly { queue: string; limit: number }[], request: ReserveRequest): Promise<ReservedJob[]>;
}

/** A store that claims from every queue, oldest due first, in one step. */
export interface ClaimsOldestFirst extends ClaimsFromOneQueue {
  claimOldest(request: ReserveRequest): Promise<ReservedJob[]>;
}

/** A store that claims from one queue at a time. */
export type ListsQueues = ClaimsFromOneQueue;

export type QueueClaimer = ClaimsOldestFirst | ListsQueues;

/** Claims up to `request.limit` due jobs: strict priority over `request.queues`, or every queue oldest first. */
export async function reserveInOrder(claimer: QueueClaimer, request: ReserveRequest, turns: QueueTurns): Promise<ReservedJob[]> {
  if (request.limit <= 0) return [];
  const paused = request.paused ?? [];
  const isPaused = paused.length === 0 ? () => false : (lane: string) => paused.includes(lane) || paused.includes(queueOfLane(lane));
  const lanes = await turns.lanes(claimer);
  const fromQueue = (queue: string, want: number) => {
    const grouped = lanes?.get(queue);
    return grouped ? claimInTurns(claimer, turns, queue, grouped.filter((lane) => !isPaused(lane)), want, request) : claimer.claimFrom(queue, want, request);
  };
  if (request.queues && request.weights) return claimWeighted(request.queues.filter((queue) => !paused.includes(queue)), request.queues.map((_, i) => request.weights![i]!).filter((_, i) => !paused.includes(request.queues![i]!)), request.limit, turns, fromQueue);
  if (request.queues) {
    const claimed: ReservedJob[] = [];
    for (const queue of request.queues) {
      if (paused.includes(queue)) continue;
      const want = request.limit - claimed.length;
      if (want <= 0) break;
      claimed.push(...(await fromQueue(queue, want)));
    }
    return claimed;
  }
  // Groups in use: every queue and every lane takes its turn.
  if (lanes) return claimInTurns(claimer, turns, null, (await turns.names(claimer)).filter((lane) => !isPaused(lane)), request.limit, request);
  if ('claimOldest' in claimer) return claimer.claimOldest(request);
  const queues = (await claimer.queueNames()).filter((queue) => !paused.includes(queue));
  if (queues.length <= 1) return queues.length === 0 ? [] : claimer.claimFrom(queues[0]!, request.limit, request);
  const all = (await Promise.all(queues.map((queue) => claimer.claimFrom(queue, request.limit, request)))).flat().sort(compareDue);
  const extras = all.splice(request.limit);
  // One failed give-back must not lose the jobs kept: they would sit under their lease with no worker.
  const gaveBack = await Promise.allSettled(extras.map((extra) => claimer.release(extra, { at: extra.scheduledAt, countAttempt: false })));
  gaveBack.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    const job = extras[i]!;
    request.logger?.warn({ err: coerceError(result.reason), id: job.id, job: job.name, queue: job.queue }, `Could not give back job ${job.name} (id ${job.id}) claimed beyond the free slots; its lease will bring it back`);
  });
  return all;
}

/** Claim order: due time, then id (shorter first, so numeric ids sort as numbers). */
export function compareDue(a: Pick<ReservedJob, 'scheduledAt' | 'id'>, b: Pick<ReservedJob, 'scheduledAt' | 'id'>): number {
  return a.scheduledAt - b.scheduledAt || a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
