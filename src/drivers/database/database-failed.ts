/**
 * The `database` driver's failed store (the failed-jobs table) behind `job:failed`, `job:retry`,
 * `job:forget` and `job:flush`. A retry is one transaction: the job inserted again with its
 * attempts reset, and its failed row deleted.
 */
import type { FailedJob, FailedStore, RetryResult } from '../../store/driver.ts';
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
      return rows.map((r: Record<string, unknown>) => ({
        id: String(r.id), jobId: String(r.job_id), name: String(r.name), queue: String(r.queue),
        payload: String(r.payloads), exception: String(r.exception), attempts: Number(r.attempts),
        overlapKey: (r.overlap_key as string | null) ?? null, failedAt: Number(r.failed_at),
      }));
    });
  }

  async retryFailed(ids: readonly string[]): Promise<RetryResult> {
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    for (const failedId of ids) {
      const outcome = isRowId(failedId) ? await this.retryOne(failedId) : 'missing';
      if (outcome === 'missing') result.missing.push(failedId);
      else if (outcome === 'overlapping') result.overlapping.push(failedId);
      else result.retried.push({ failedId, jobId: outcome.jobId });
    }
    return result;
  }

  private retryOne(failedId: string): Promise<'missing' | 'overlapping' | { jobId: string }> {
    const { knex, names, clock } = this.store;
    return this.store.run(() => knex.transaction(async (trx) => {
      const row = await trx(names.failedTable).where('id', failedId).first();
      if (!row) return 'missing' as const;
      const now = clock.now();
      try {
        const jobId = await this.store.insertJob(trx, {
          name: row.name, queue: row.queue, payloads: row.payloads,
          without_overlapping: row.overlap_key !== null, overlap_key: row.overlap_key,
          attempts: 0, scheduled_at: now, created_at: now, updated_at: now,
        });
        await trx(names.failedTable).where('id', failedId).delete();
        return { jobId };
      } catch (error) {
        if (DUPLICATE.has(sqlErrorCode(error))) return 'overlapping' as const;
        throw error;
      }
    }).catch((error: unknown) => {
      // PostgreSQL aborts the transaction on the duplicate; the rollback already happened.
      if (DUPLICATE.has(sqlErrorCode(error))) return 'overlapping' as const;
      throw error;
    }));
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
