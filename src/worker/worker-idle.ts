/**
 * A worker loop's wait between claims: for a slot to free or an outcome to be recorded, or,
 * when the queue was empty, for whichever comes first of a new job (where the driver can wake
 * idle workers), a change of the paused queues (a resume), a stop, or the sleep interval.
 */
import type { Clock } from '../infra/clock.ts';
import type { WakingQueue } from '../store/driver.ts';
import type { PausedQueues } from '../store/paused-queues.ts';
import type { WorkerOptions } from './worker-options.ts';

export interface IdleWait {
  /** Resolves when a slot frees or an outcome is recorded; null when nothing runs. */
  changed: Promise<void> | null;
  /** The last claim found nothing. */
  empty: boolean;
  driver: Partial<WakingQueue>;
  clock: Clock;
  options: Pick<WorkerOptions, 'queues' | 'sleepMs'>;
  quit: AbortSignal;
  paused: Pick<PausedQueues, 'changed'>;
}

export async function idleWait({ changed, empty, driver, clock, options, quit, paused }: IdleWait): Promise<void> {
  if (!empty) {
    if (changed) await changed;
    return;
  }
  const waits: Promise<unknown>[] = changed ? [changed] : [];
  // Ends this wait's timers and listeners as soon as one of the waits wins.
  const over = new AbortController();
  const wake = AbortSignal.any([quit, over.signal]);
  const sleep = () => clock.sleep(options.sleepMs, wake);
  // A wait that fails (its server is away) is a plain sleep: the claim after it reports the outage.
  waits.push(driver.waitForJob ? driver.waitForJob(options.queues, options.sleepMs, wake).catch(sleep) : sleep(), paused.changed(wake));
  try {
    await Promise.race(waits);
  } finally {
    over.abort(IDLE_OVER);
  }
}

/** The reason an idle wait's own timers are cancelled with (a constant: no DOMException per wait). */
const IDLE_OVER = Symbol('idle over');
