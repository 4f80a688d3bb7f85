/**
 * Retries a driver call through a short server outage (a restart, a failover), so that an ack
 * or a release is not left to the lease: a lease that lapses means the job runs again.
 */
import type { Clock } from '../infra/clock.ts';
import { exponentialMs } from '../infra/backoff.ts';
import { UsageError } from '../infra/errors.ts';

/** Calls `work` until it succeeds, for about `budgetMs` (0.1 s, 0.2 s, then every 0.5 s). */
export async function throughOutage<T>(work: () => Promise<T>, clock: Clock, budgetMs = 30_000): Promise<T> {
  const end = clock.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UsageError || clock.now() >= end) throw error;
      await clock.sleep(exponentialMs(attempt + 1, 100, 500));
    }
  }
}
