/**
 * Which queue a claim takes from, decided here once for every driver (SPEC §5):
 * - `--queue=high,default,low` is strict priority: the claim takes all it can from the first
 *   queue that has due jobs, then fills what is left from the next, and so on.
 * - Without `--queue`: every queue, oldest due first.
 * A driver only claims from one queue at a time (`claimFrom`). For the oldest-first order it
 * either claims from every queue in one step (`claimOldest`: one query on the database), or lists
 * its queues: then each queue is claimed from at once, the oldest jobs are kept and the rest are
 * given back at once, without counting their attempt.
 * Paused queues (`request.paused`) are skipped on every path; `claimOldest` must skip them itself.
 */
import { coerceError } from '../infra/errors.ts';
import type { ReleaseOptions, ReserveRequest, ReservedJob } from './driver.ts';

interface ClaimsFromOneQueue {
  /** Claims up to `limit` due jobs of `queue`, oldest due first, each under a lease and a claim token. */
  claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]>;
  release(job: ReservedJob, options: ReleaseOptions): Promise<boolean>;
}

/** A store that claims from every queue, oldest due first, in one step. */
export interface ClaimsOldestFirst extends ClaimsFromOneQueue {
  claimOldest(request: ReserveRequest): Promise<ReservedJob[]>;
}

/** A store that claims from one queue at a time and knows its queues. */
export interface ListsQueues extends ClaimsFromOneQueue {
  /** Every queue that may hold a due job. */
  queueNames(): Promise<readonly string[]>;
}

export type QueueClaimer = ClaimsOldestFirst | ListsQueues;

/** Claims up to `request.limit` due jobs: strict priority over `request.queues`, or every queue oldest first. */
export async function reserveInOrder(claimer: QueueClaimer, request: ReserveRequest): Promise<ReservedJob[]> {
  if (request.limit <= 0) return [];
  const paused = request.paused ?? [];
  if (request.queues) {
    const claimed: ReservedJob[] = [];
    for (const queue of request.queues) {
      if (paused.includes(queue)) continue;
      const want = request.limit - claimed.length;
      if (want <= 0) break;
      claimed.push(...(await claimer.claimFrom(queue, want, request)));
    }
    return claimed;
  }
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
