/**
 * Every queue in sight, for the dashboard's overview, `job:status` and the `/metrics` gauges
 * alike: the queues that hold jobs, the paused ones, those a live worker listens on, and those
 * that finished jobs in the last RECENT_MS (per-minute metrics), each with its counts (zeros
 * when it is empty now) and whether it is paused. An emptied queue stays in sight while workers
 * listen on it or it worked lately.
 */
import type { WorkerRecord } from './admin-store.ts';
import type { FullDriver, QueueStats } from './driver.ts';

/** How far back a queue that finished jobs stays in sight though empty. */
export const RECENT_MS = 60 * 60_000;
const MINUTE_MS = 60_000;

export interface QueueInSight extends QueueStats {
  paused: boolean;
}

export type QueueSource = Pick<FullDriver, 'stats' | 'pausedQueues' | 'listWorkers' | 'readMetrics'>;

/** Sorted by queue name. `metrics`: false when none are kept (then recent work is not looked at). */
export async function queuesInSight(driver: QueueSource, now: number, metrics = true): Promise<QueueInSight[]> {
  return (await queuesAndWorkers(driver, now, metrics)).queues;
}

/** The same, with the worker records it read on the way (the /metrics gauges count the live ones). */
export async function queuesAndWorkers(driver: QueueSource, now: number, metrics = true): Promise<{ queues: QueueInSight[]; workers: WorkerRecord[] }> {
  const from = Math.floor((now - RECENT_MS) / MINUTE_MS) * MINUTE_MS;
  // The counts first: they open the store, so an unreachable one is named as such (not as a raw socket error).
  const stats = await driver.stats();
  const [paused, workers, recent] = await Promise.all([
    driver.pausedQueues(), driver.listWorkers(now),
    metrics ? driver.readMetrics(from, now + MINUTE_MS) : Promise.resolve([]),
  ]);
  const rows = new Map<string, QueueStats>(stats.map((s) => [s.queue, s]));
  const live = workers.filter((w) => w.stoppedAt === null && w.end === null);
  for (const queue of [...paused, ...live.flatMap((w) => w.queues ?? []), ...recent.map((s) => s.queue)]) {
    if (!rows.has(queue)) rows.set(queue, { queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 });
  }
  const pausedSet = new Set(paused);
  return { queues: [...rows.values()].map((s) => ({ ...s, paused: pausedSet.has(s.queue) })).sort((a, b) => a.queue.localeCompare(b.queue)), workers };
}
