/**
 * Storing jobs in the `memcached` driver, one or many at a time (`push` is a bulk push of one),
 * in few round trips: one `incr` hands out the ids of the whole call; the job records are
 * written, then the overlap keys taken (`add`; within the call the first job of a key wins),
 * then the stored jobs appended to their queues' logs a chunk of slots at a time (one `incr` of
 * the tail, then the slots), in the order given. Commands of one step are sent together
 * (memcache-client pipelines them on its connection). Records come before keys, so a key's
 * holder always has its record and is never taken for a dispatch that died. memcached has no
 * transactions: a failure before the logs frees the keys and stores nothing; a failure while
 * appending says how many jobs were stored.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../infra/clock.ts';
import type { NewJob, PushResult } from '../../store/driver.ts';
import { ABANDONED_SLOT_GAP, type JobRecord } from './memcached-claim.ts';
import type { Memcached } from './memcached-client.ts';
import { inChunks, overlapsWithinCall } from '../record-shared.ts';

/** Commands sent together. */
const WIDTH = 500;
/** Slots claimed by one tail increment: far fewer than a claim's ABANDONED_SLOT_GAP, so no slot still being written is taken for abandoned. */
const SLOTS_PER_STEP = Math.min(1_000, ABANDONED_SLOT_GAP / 10);

export function overlapKeyOf(mc: Memcached, key: string): string {
  return mc.key('ovl', createHash('sha1').update(key).digest('hex'));
}

/** Takes the overlap key for `id`; returns the id already holding it, or null. */
async function takeOverlap(mc: Memcached, key: string, id: string): Promise<string | null> {
  const k = overlapKeyOf(mc, key);
  for (let i = 0; i < 5; i++) {
    if (await mc.add(k, id)) return null;
    const holder = await mc.get(k);
    if (holder === undefined) continue;
    if ((await mc.get(mc.key('job', holder))) !== undefined) return holder;
    // The holder's record is gone (evicted, or finished as the key was read): take the key over by CAS.
    if (await mc.swap(k, (v) => (v === holder ? id : null))) return null;
  }
  return (await mc.get(k)) ?? null;
}

export async function pushJobs(mc: Memcached, clock: Clock, jobs: readonly NewJob[], registerQueue: (queue: string) => Promise<void>): Promise<PushResult[]> {
  for (const queue of new Set(jobs.map((j) => j.queue))) await registerQueue(queue);
  const last = await mc.incr(mc.key('seq'), jobs.length);
  const ids = jobs.map((_, i) => String(last - jobs.length + 1 + i));
  const within = overlapsWithinCall(jobs);
  const created = clock.now();
  const writes = jobs.map((job, i) => ({ job, id: ids[i]!, i })).filter(({ i }) => within[i]! < 0);
  await inChunks(writes, WIDTH, ({ job, id }) => {
    const record: JobRecord = { id, name: job.name, queue: job.queue, payload: job.payload, sched: job.scheduledAt, created, okey: job.overlapKey };
    return mc.set(mc.key('job', id), JSON.stringify(record));
  });
  const results: PushResult[] = ids.map((id) => ({ id }));
  try {
    await inChunks(writes, WIDTH, async ({ job, id, i }) => {
      if (job.overlapKey === null) return;
      const holder = await takeOverlap(mc, job.overlapKey, id);
      if (holder !== null) results[i] = { skipped: 'overlapping', existingId: holder };
    });
  } catch (error) {
    await inChunks(writes, WIDTH, async ({ job, id }) => {
      await mc.delete(mc.key('job', id));
      if (job.overlapKey !== null) await mc.deleteIf(overlapKeyOf(mc, job.overlapKey), (v) => v === id);
    });
    throw error;
  }
  // A later job of a key the call took is skipped in favour of the first; if the first was skipped, so is it.
  within.forEach((first, i) => {
    if (first < 0) return;
    const winner = results[first]!;
    results[i] = { skipped: 'overlapping', existingId: winner.id ?? winner.existingId };
  });
  await inChunks(writes.filter(({ i }) => results[i]!.id === undefined), WIDTH, ({ id }) => mc.delete(mc.key('job', id)));
  const byQueue = new Map<string, string[]>();
  results.forEach((r, i) => {
    if (r.id === undefined) return;
    const queue = jobs[i]!.queue;
    if (!byQueue.has(queue)) byQueue.set(queue, []);
    byQueue.get(queue)!.push(r.id);
  });
  let appended = 0;
  try {
    for (const [queue, queued] of byQueue) {
      for (let from = 0; from < queued.length; from += SLOTS_PER_STEP) {
        const step = queued.slice(from, from + SLOTS_PER_STEP);
        const tail = await mc.incr(mc.key(`q:${queue}`, 'tail'), step.length);
        await inChunks(step, WIDTH, (id, j) => mc.set(mc.key(`q:${queue}`, 'slot', tail - step.length + 1 + j), id));
        appended += step.length;
      }
    }
  } catch (error) {
    const total = [...byQueue.values()].reduce((n, q) => n + q.length, 0);
    throw new Error(`memcached stored ${appended} of ${total} jobs, then failed: ${(error as Error).message}`, { cause: error });
  }
  return results;
}
