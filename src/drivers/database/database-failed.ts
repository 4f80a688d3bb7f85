/**
 * The `database` driver's failed store (the failed-jobs table) behind `job:failed`, `job:forget`,
 * `job:flush` and `job:retry` (store-services.ts). A requeue is one transaction: the job inserted
 * again (its overlap key checked by the unique index, as a push is) and the failed row deleted.
 */
import type { FailedJob, FailedStore, Requeued } from '../../store/driver.ts';
import { sqlErrorCode } from './database-connection.ts';
import { DUPLICATE, isRowId, type SqlStore } from './database-sql.ts';

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

  async requeueFailed(id: string, at: number): Promise<Requeued> {
    if (!isRowId(id)) return 'missing';
    const { knex, names, clock } = this.store;
    const overlapping = (error: unknown): 'overlapping' => {
      if (DUPLICATE.has(sqlErrorCode(error))) return 'overlapping';
      throw error;
    };
    return this.store.run(() => knex.transaction(async (trx): Promise<Requeued> => {
      // Deleted first: a second caller waits on the row, then finds it gone.
      const row = (await trx(names.failedTable).where('id', id).forUpdate().first()) as Record<string, unknown> | undefined;
      if (!row || (await trx(names.failedTable).where('id', id).delete()) === 0) return 'missing';
      const now = clock.now();
      const jobId = await this.store.insertJob(trx, {
        name: row.name, queue: row.queue, payloads: row.payloads, without_overlapping: row.overlap_key !== null,
        overlap_key: row.overlap_key, attempts: 0, scheduled_at: at, created_at: now, updated_at: now,
      });
      return { jobId };
    }).catch(overlapping)); // the duplicate rolled the transaction back: the failed row stays
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
