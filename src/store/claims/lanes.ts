/**
 * Groups within a queue (fair shares per tenant), named here once for every store. A job
 * dispatched with `.group(id)` (or a class's `static group`) is stored on the lane `queue+id`:
 * to a store a lane is a queue like any other, so every driver keeps its jobs, claims, acks,
 * retries and counts without a line of its own. `+` cannot occur in a queue name (naming.ts), so
 * a lane is never mistaken for a queue, and what users see (`job.queue`, logs, metrics, counts)
 * is the queue, with the group beside it. Which lane a claim takes from is queue-policy.ts's.
 */
import { UsageError, cutInput } from '../../infra/errors.ts';

/** Between a queue's name and its group's in a lane's name. */
export const LANE_SEPARATOR = '+';

/** What a group id may hold: a tenant's id, slug, number or e-mail address. */
const GROUP_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;

/** The longest lane a store keeps (its queue column's width). */
export const LANE_MAX = 64;

/** The lane of a job of `queue` in `group` (null: the queue's own lane, for jobs in no group). */
export function laneOf(queue: string, group: string | null): string {
  return group === null ? queue : `${queue}${LANE_SEPARATOR}${group}`;
}

/** The queue and group of a lane (or of a plain queue: group null). */
export function splitLane(lane: string): { queue: string; group: string | null } {
  const at = lane.indexOf(LANE_SEPARATOR);
  return at < 0 ? { queue: lane, group: null } : { queue: lane.slice(0, at), group: lane.slice(at + 1) };
}

/** The queue of a lane: what users see as `job.queue`. */
export function queueOfLane(lane: string): string {
  const at = lane.indexOf(LANE_SEPARATOR);
  return at < 0 ? lane : lane.slice(0, at);
}

/** A lane as people read it: `mail`, or `mail (group acme)`. */
export function describeLane(lane: string): string {
  const { queue, group } = splitLane(lane);
  return group === null ? queue : `${queue} (group ${group})`;
}

/** Checks a group id given to `.group()` or returned by a class's `static group`; returns it as text. */
export function assertGroup(group: unknown, queue: string, where: string): string {
  const id = typeof group === 'number' && Number.isFinite(group) ? String(group) : group;
  if (typeof id !== 'string' || !GROUP_ID.test(id)) {
    throw new UsageError(`Bad group ${typeof id === 'string' ? `"${cutInput(id)}"` : String(id)} from ${where}: start with a letter or digit, then letters, digits and . _ : @ -`);
  }
  if (queue.length + LANE_SEPARATOR.length + id.length > LANE_MAX) {
    throw new UsageError(`Group "${cutInput(id)}" from ${where} is too long for queue "${queue}": queue and group together may have at most ${LANE_MAX - 1} characters`);
  }
  return id;
}
