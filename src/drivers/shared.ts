/**
 * Small pieces several drivers share: grouping a batch into the calls of one driver step, and
 * `hasDue` for stores that have no index to ask.
 */
import type { Driver } from '../store/driver.ts';
import { queueOfLane } from '../store/claims/lanes.ts';

/**
 * The positions of `items` grouped by `keyOf`, at most `size` per group, in order: the calls of
 * a batched driver step (one per queue or claim token, and per chunk a statement or script can take).
 */
export function batchesBy<T>(items: readonly T[], keyOf: (item: T) => string, size: number): { key: string; indexes: number[] }[] {
  const batches: { key: string; indexes: number[] }[] = [];
  const open = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = keyOf(item);
    let indexes = open.get(key);
    if (!indexes || indexes.length >= size) {
      open.set(key, (indexes = []));
      batches.push({ key, indexes });
    }
    indexes.push(i);
  });
  return batches;
}

/** hasDue for stores without an index to ask: from their stats. */
export async function hasDueFromStats(driver: Driver, queues: readonly string[] | null): Promise<boolean> {
  // A group's lane (store/claims/lanes.ts) counts as its queue.
  return (await driver.stats()).some((s) => s.ready > 0 && (queues === null || queues.includes(queueOfLane(s.queue))));
}
