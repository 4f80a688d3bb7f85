/**
 * Every queue in sight, for the dashboard's overview, `job:status` and the `/metrics` gauges
 * alike: the queues that hold jobs, the paused ones, those a live worker listens on, and those
 * that finished jobs in the last RECENT_MS (per-minute metrics), each with its counts (zeros
 * when it is empty now) and whether it is paused. An emptied queue stays in sight while workers
 * listen on it or it worked lately. The lanes of a queue's groups (lanes.ts) count as the queue,
 * and are listed apart as its groups, the largest backlogs first.
 */
import type { WorkerRecord } from './admin-store.ts';
import type { FullDriver, QueueStats } from './driver.ts';
import { laneOf, splitLane } from './claims/lanes.ts';

/** How far back a queue that finished jobs stays in sight though empty. */
export const RECENT_MS = 60 * 60_000;
const MINUTE_MS = 60_000;

export interface QueueInSight extends QueueStats {
  paused: boolean;
}

/** A group of a queue: its lane's counts (`queue` is the queue's name). */
export interface GroupInSight extends QueueInSight {
  group: string;
}

export type QueueSource = Pick<FullDriver, 'stats' | 'pausedQueues' | 'listWorkers' | 'readMetrics'>;

/** Sorted by queue name. `metrics`: false when none are kept (then recent work is not looked at). */
export async function queuesInSight(driver: QueueSource, now: number, metrics = true): Promise<QueueInSight[]> {
  return (await queuesAndWorkers(driver, now, metrics)).queues;
}

/** The same, with the worker records it read on the way (the /metrics gauges count the live ones). */
export async function queuesAndWorkers(driver: QueueSource, now: number, metrics = true): Promise<{ queues: QueueInSight[]; groups: GroupInSight[]; workers: WorkerRecord[] }> {
  const from = Math.floor((now - RECENT_MS) / MINUTE_MS) * MINUTE_MS;
  // The counts first: they open the store, so an unreachable one is named as such (not as a raw socket error).
  const stats = await driver.stats();
  const [paused, workers, recent] = await Promise.all([
    driver.pausedQueues(), driver.listWorkers(now),
    metrics ? driver.readMetrics(from, now + MINUTE_MS) : Promise.resolve([]),
  ]);
  const pausedSet = new Set(paused);
  const rows = new Map<string, QueueStats>();
  const groups: GroupInSight[] = [];
  for (const lane of stats) {
    const { queue, group } = splitLane(lane.queue);
    if (group !== null) groups.push({ ...lane, queue, group, paused: pausedSet.has(lane.queue) || pausedSet.has(queue) });
    const row = rows.get(queue);
    if (!row) rows.set(queue, { ...lane, queue });
    else for (const count of ['ready', 'scheduled', 'reserved', 'failed'] as const) row[count] += lane[count];
  }
  const live = workers.filter((w) => w.stoppedAt === null && w.end === null);
  for (const queue of [...paused, ...live.flatMap((w) => w.queues ?? []), ...recent.map((s) => s.queue)]) {
    const { queue: name, group } = splitLane(queue);
    if (group === null && !rows.has(name)) rows.set(name, { queue: name, ready: 0, scheduled: 0, reserved: 0, failed: 0 });
  }
  const backlog = (g: QueueStats) => g.ready + g.scheduled;
  groups.sort((a, b) => backlog(b) - backlog(a) || b.reserved - a.reserved || laneOf(a.queue, a.group).localeCompare(laneOf(b.queue, b.group)));
  return { queues: [...rows.values()].map((s) => ({ ...s, paused: pausedSet.has(s.queue) })).sort((a, b) => a.queue.localeCompare(b.queue)), groups, workers };
}
