/**
 * The `database` driver's paused queues (`<table>_paused`, one row per paused queue): what
 * `rakit job:pause`/`job:resume` and the dashboard change, and what a worker reads before it
 * claims (the claim leaves those queues alone, see queue-policy.ts and database-claim.ts).
 */
import type { PausableQueue } from '../../store/admin-store.ts';
import type { SqlStore } from './database-sql.ts';

export class DatabasePausedQueues implements PausableQueue {
  constructor(private readonly store: SqlStore) {}

  private get paused() {
    return this.store.knex(`${this.store.names.table}_paused`);
  }

  async pauseQueue(queue: string): Promise<void> {
    const now = this.store.clock.now();
    await this.store.run(() => this.paused.insert({ queue, paused_at: now }).onConflict('queue').ignore());
  }

  async resumeQueue(queue: string): Promise<boolean> {
    return this.store.run(async () => (await this.paused.where('queue', queue).delete()) > 0);
  }

  async pausedQueues(): Promise<string[]> {
    return this.store.run(async () => {
      const rows = (await this.paused.select('queue')) as { queue: string }[];
      return rows.map((row) => row.queue).sort();
    });
  }
}
