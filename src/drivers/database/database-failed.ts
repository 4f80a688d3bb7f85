/**
 * The `database` driver's failed store (the failed-jobs table) behind `job:failed`, `job:forget`,
 * `job:flush` and `job:retry`. Pages are newest first by (failed_at, id) on the indexes
 * `<failed>_failed_at` and `<failed>_queue_failed`, the filter of store/failed/failed-view.ts as WHERE.
 * A requeue of many is one transaction: the failed rows locked, the jobs inserted again (an
 * overlap key checked by the unique index, as a push is, a held one leaving its row failed),
 * and the requeued rows deleted.
 */
import type { Knex } from 'knex';
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, Requeued } from '../../store/driver.ts';
import { addCount, compareNewest, cursorAfter, errorPart, pageLimit, parseCursor } from '../../store/failed/failed-view.ts';
import { likePattern } from '../../store/job-view.ts';
import { CHUNK, insertHolding, insertRows, type BulkSqlStore, type JobRowValues } from './database-bulk.ts';
import { isRowId } from './database-sql.ts';

/** Rows judged per page when a page searches the error text. */
const SCAN = 5_000;
/** The columns a requeue reads. */
const REQUEUE_COLUMNS = ['id', 'name', 'queue', 'payloads', 'overlap_key'];

export class DatabaseFailedStore implements FailedStore {
  constructor(private readonly store: BulkSqlStore) {}

  private get failed() {
    return this.store.knex(this.store.names.failedTable);
  }

  /** The filter as WHERE clauses on `q`. */
  private where(q: Knex.QueryBuilder, filter: FailedFilter): Knex.QueryBuilder {
    if (filter.queue !== null) q.where('queue', filter.queue);
    if (filter.name !== null) q.where('name', filter.name);
    if (filter.since !== null) q.where('failed_at', '>=', filter.since);
    if (filter.until !== null) q.where('failed_at', '<', filter.until);
    const error = errorPart(filter);
    if (error !== null) q.whereRaw("LOWER(exception) LIKE ? ESCAPE '!'", [likePattern({ text: error, part: error })]);
    return q;
  }

  async listFailed(query: FailedQuery): Promise<FailedPage> {
    const limit = pageLimit(query);
    const after = parseCursor(query.after);
    if (query.after !== null && (!after || !isRowId(after.id))) return { jobs: [], next: null };
    const newest = (q: Knex.QueryBuilder) => {
      // The first condition bounds the index scan; the second skips what the last page showed.
      if (after) q.where('failed_at', '<=', after.failedAt).where((w) => w.where('failed_at', '<', after.failedAt).orWhere('id', '<', after.id));
      return q.orderBy([{ column: 'failed_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
    };
    const error = errorPart(query);
    return this.store.run(async () => {
      if (error === null) {
        const rows = (await newest(this.where(this.failed.select('*'), query)).limit(limit + 1)) as Record<string, unknown>[];
        const jobs = rows.slice(0, limit).map(toFailed);
        return { jobs, next: rows.length > limit ? cursorAfter(jobs.at(-1)!) : null };
      }
      // A text search no index answers, and whose share of the rows a planner cannot guess: the
      // next SCAN rows in index order are judged, then the matches read, so a page costs at most that.
      const seen = (await newest(this.where(this.failed.select('id', 'failed_at').select(this.store.knex.raw("LOWER(exception) LIKE ? ESCAPE '!' AS hit", [likePattern({ text: error, part: error })])),
        { ...query, error: null })).limit(SCAN)) as { id: unknown; failed_at: unknown; hit: unknown }[];
      const hits = seen.filter((r) => r.hit === true || Number(r.hit) === 1).slice(0, limit + 1);
      const rows = hits.length === 0 ? [] : ((await this.failed.select('*').whereIn('id', hits.slice(0, limit).map((r) => String(r.id)))) as Record<string, unknown>[]);
      const jobs = rows.map(toFailed).sort(compareNewest);
      const last = seen.at(-1);
      const next = hits.length > limit ? cursorAfter(jobs.at(-1)!) : seen.length === SCAN && last ? cursorAfter({ failedAt: Number(last.failed_at), id: String(last.id) }) : null;
      return { jobs, next };
    });
  }

  async countFailed(filter: FailedFilter): Promise<FailedCounts> {
    return this.store.run(async () => {
      const rows = (await this.where(this.failed.select('queue', 'name').count({ n: '*' }), filter).groupBy('queue', 'name')) as { queue: string; name: string; n: unknown }[];
      const counts: FailedCounts = { total: 0, byQueue: {}, byName: {} };
      for (const r of rows) addCount(counts, r.queue, r.name, Number(r.n));
      return counts;
    });
  }

  async getFailed(id: string): Promise<FailedJob | null> {
    if (!isRowId(id)) return null;
    return this.store.run(async () => {
      const row = (await this.failed.where('id', id).first()) as Record<string, unknown> | undefined;
      return row ? toFailed(row) : null;
    });
  }

  async requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]> {
    const wanted = [...new Set(ids.filter(isRowId))];
    if (wanted.length === 0) return ids.map(() => 'missing');
    const { knex, names, clock } = this.store;
    const outcomes = await this.store.run(() => knex.transaction(async (trx) => {
      const done = new Map<string, Requeued>();
      const rows: (JobRowValues & { failedId: string })[] = [];
      for (let i = 0; i < wanted.length; i += CHUNK) {
        // Locked: a second caller waits on the rows, then finds them gone.
        const found = (await trx(names.failedTable).select(REQUEUE_COLUMNS).whereIn('id', wanted.slice(i, i + CHUNK)).forUpdate()) as Record<string, unknown>[];
        const now = clock.now();
        for (const r of found) {
          rows.push({
            failedId: String(r.id), name: r.name, queue: r.queue, payloads: r.payloads, without_overlapping: r.overlap_key !== null,
            overlap_key: (r.overlap_key as string | null) ?? null, attempts: 0, scheduled_at: at, created_at: now, updated_at: now,
          });
        }
      }
      const free = rows.filter((r) => r.overlap_key === null);
      for (let i = 0; i < free.length; i += CHUNK) {
        const chunk = free.slice(i, i + CHUNK);
        const jobIds = await insertRows(this.store, trx, chunk.map(({ failedId: _, ...row }) => row));
        chunk.forEach((r, k) => done.set(r.failedId, { jobId: jobIds[k]! }));
      }
      for (const { failedId, ...row } of rows.filter((r) => r.overlap_key !== null)) {
        const pushed = await insertHolding(this.store, trx, row);
        done.set(failedId, pushed.id === undefined ? 'overlapping' : { jobId: pushed.id });
      }
      const requeued = [...done].filter(([, o]) => typeof o === 'object').map(([id]) => id);
      for (let i = 0; i < requeued.length; i += CHUNK) await trx(names.failedTable).whereIn('id', requeued.slice(i, i + CHUNK)).delete();
      return done;
    }));
    return ids.map((id) => {
      const outcome = outcomes.get(id) ?? 'missing';
      outcomes.delete(id); // an id given twice was requeued once
      return outcome;
    });
  }

  async forgetFailed(ids: readonly string[]): Promise<boolean[]> {
    const wanted = [...new Set(ids.filter(isRowId))];
    if (wanted.length === 0) return ids.map(() => false);
    const gone = new Set<string>();
    await this.store.run(() => this.store.knex.transaction(async (trx) => {
      gone.clear();
      for (let i = 0; i < wanted.length; i += CHUNK) {
        const chunk = wanted.slice(i, i + CHUNK);
        const found = (await trx(this.store.names.failedTable).select('id').whereIn('id', chunk).forUpdate()) as { id: unknown }[];
        await trx(this.store.names.failedTable).whereIn('id', chunk).delete();
        for (const r of found) gone.add(String(r.id));
      }
    }));
    return ids.map((id) => gone.delete(id)); // an id given twice was deleted once
  }
}

function toFailed(r: Record<string, unknown>): FailedJob {
  return {
    id: String(r.id), jobId: String(r.job_id), name: String(r.name), queue: String(r.queue),
    payload: String(r.payloads), exception: String(r.exception), attempts: Number(r.attempts),
    overlapKey: (r.overlap_key as string | null) ?? null, failedAt: Number(r.failed_at),
  };
}
