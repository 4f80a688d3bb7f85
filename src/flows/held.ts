/**
 * Held jobs: a job that waits on its workflow (the next job of a chain, a batch's callbacks) is
 * stored as scheduled at HELD_AT, far in the future, so no worker claims it; the workflow makes
 * it due with `runJobNow` or drops it with `cancelJob` (admin-store.ts), both idempotent. The
 * dashboard shows it as held, without Run now or Cancel (cancel-job.ts); job:status counts it
 * among the scheduled jobs.
 */
import type { BrowsableQueue } from '../store/admin-store.ts';

/** 31 December 9999, UTC: when a held job would run if nothing promoted it. */
export const HELD_AT = Date.UTC(9999, 11, 31);

export function isHeld(scheduledAt: number): boolean {
  return scheduledAt >= HELD_AT;
}

/** Makes held jobs due now; an id already due, running or gone is left as it is. */
export async function promote(store: Pick<BrowsableQueue, 'runJobNow'>, ...ids: (string | null | undefined)[]): Promise<void> {
  for (const id of ids) if (id) await store.runJobNow(id);
}

/** Drops held jobs; an id already running or gone is left as it is. */
export async function drop(store: Pick<BrowsableQueue, 'cancelJob'>, ...ids: (string | null | undefined)[]): Promise<void> {
  for (const id of ids) if (id) await store.cancelJob(id);
}
