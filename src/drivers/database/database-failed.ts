/**
 * The `database` driver's failed store (the failed-jobs table) behind `job:failed`, `job:forget`
 * and `job:flush` (and `job:retry`, store-services.ts).
 */
import type { FailedJob, FailedStore } from '../../store/driver.ts';
import { isRowId, type SqlStore } from './database-sql.ts';

export class DatabaseFailedStore implements FailedStore {
  constructor(private readonly store: SqlStore) {}

  private get failed() {
    return this.store.knex(this.store.names.failedTable);
  }

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    return this.store.run(async () => {
      const rows = await this.failed.select('*').orderBy('id', 'asc').limit(limit);
      return rows.map(toFailed);
    });
  }

  async getFailed(id: string): Promise<FailedJob | null> {
    if (!isRowId(id)) return null;
    return this.store.run(async () => {
      const row = (await this.failed.where('id', id).first()) as Record<string, unknown> | undefined;
      return row ? toFailed(row) : null;
    });
  }

  async forgetFailed(id: string): Promise<boolean> {
    if (!isRowId(id)) return false;
    return this.store.run(async () => (await this.failed.where('id', id).delete()) > 0);
  }

  async flushFailed(olderThanMs: number | null): Promise<number> {
    return this.store.run(async () => {
      const q = this.failed;
      if (olderThanMs !== null) q.where('failed_at', '<', olderThanMs);
      return Number(await q.delete());
    });
  }
}

function toFailed(r: Record<string, unknown>): FailedJob {
  return {
    id: String(r.id), jobId: String(r.job_id), name: String(r.name), queue: String(r.queue),
    payload: String(r.payloads), exception: String(r.exception), attempts: Number(r.attempts),
    overlapKey: (r.overlap_key as string | null) ?? null, failedAt: Number(r.failed_at),
  };
}
