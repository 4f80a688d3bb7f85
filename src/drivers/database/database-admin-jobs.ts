/**
 * The `database` driver's pending jobs as the dashboard sees them: the Jobs page (list, look up,
 * cancel, run now) and the Locks page (the overlap keys held by pending or running jobs, which
 * live on the job rows). A job's state is judged at the driver's clock, as `stats` counts it.
 */
import type { Knex } from 'knex';
import type { BrowsableQueue, JobPage, JobQuery, JobState, JobSummary, LockBrowser, OverlapLock } from '../../store/admin-store.ts';
import { jobState, lanesPattern, likePattern, searchOf, type JobSearch } from '../../store/job-view.ts';
import { isRowId, type JobRow, type SqlStore } from './database-sql.ts';

/** The most jobs one page may ask for. */
const PAGE_MAX = 500;

export class DatabaseAdminJobs implements BrowsableQueue, LockBrowser {
  constructor(private readonly store: SqlStore) {}

  async listJobs(query: JobQuery): Promise<JobPage> {
    const { knex, names } = this.store;
    const now = this.store.clock.now();
    const limit = Math.max(0, Math.min(PAGE_MAX, Math.floor(query.limit)));
    const offset = Math.max(0, Math.floor(query.offset));
    const matching = () => {
      const q = knex(names.table);
      if (query.state) inState(q, query.state, now);
      const lanes = query.queue === null ? null : lanesPattern(query.queue);
      if (query.queue !== null) q.where((w) => (lanes === null ? w.where('queue', query.queue!) : w.where('queue', query.queue!).orWhereRaw(`queue LIKE ? ESCAPE '!'`, [lanes])));
      const search = searchOf(query);
      if (search) matchSearch(q, search);
      return q;
    };
    return this.store.run(async () => {
      const [counted] = (await matching().count({ n: '*' })) as { n: unknown }[];
      const rows = limit === 0 ? [] : ((await matching().select('*')
        .orderBy([{ column: 'scheduled_at' }, { column: 'id' }]).offset(offset).limit(limit)) as JobRow[]);
      return { jobs: rows.map((row) => toSummary(row, now)), total: Number(counted?.n ?? 0) };
    });
  }

  async getJob(id: string): Promise<JobSummary | null> {
    if (!isRowId(id)) return null;
    const now = this.store.clock.now();
    return this.store.run(async () => {
      const row = (await this.store.knex(this.store.names.table).where('id', id).first()) as JobRow | undefined;
      return row ? toSummary(row, now) : null;
    });
  }

  async cancelJob(id: string): Promise<boolean> {
    if (!isRowId(id)) return false;
    const now = this.store.clock.now();
    return this.store.run(async () =>
      (await notReserved(this.store.knex(this.store.names.table).where('id', id), now).delete()) === 1);
  }

  async runJobNow(id: string): Promise<boolean> {
    if (!isRowId(id)) return false;
    const now = this.store.clock.now();
    return this.store.run(async () =>
      (await inState(this.store.knex(this.store.names.table).where('id', id), 'scheduled', now)
        .update({ scheduled_at: now, updated_at: now })) === 1);
  }

  async listOverlapLocks(): Promise<OverlapLock[]> {
    const now = this.store.clock.now();
    return this.store.run(async () => {
      const rows = (await this.store.knex(this.store.names.table).whereNotNull('overlap_key')
        .select('id', 'name', 'queue', 'overlap_key', 'scheduled_at', 'reserved_until', 'created_at')) as JobRow[];
      return rows
        .map((row) => ({
          key: row.overlap_key!, jobId: String(row.id), name: row.name, queue: row.queue,
          state: stateOf(row, now), since: Number(row.created_at),
        }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  async releaseOverlapLock(key: string): Promise<boolean> {
    return this.store.run(async () =>
      (await this.store.knex(this.store.names.table).where('overlap_key', key).update({ overlap_key: null })) > 0);
  }
}

/** Jobs not held under a lease (never claimed, or their lease lapsed). */
function notReserved(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return q.andWhere((w) => w.whereNull('reserved_until').orWhere('reserved_until', '<=', now));
}

/** Restricts `q` to the jobs in `state` at `now`. */
function inState(q: Knex.QueryBuilder, state: JobState, now: number): Knex.QueryBuilder {
  if (state === 'reserved') return q.andWhere('reserved_until', '>', now);
  return notReserved(q, now).andWhere('scheduled_at', state === 'ready' ? '<=' : '>', now);
}

function stateOf(row: JobRow, now: number): JobState {
  return jobState(Number(row.scheduled_at), row.reserved_until === null ? null : Number(row.reserved_until), now);
}

/** The search of job-view.ts in SQL. */
function matchSearch(q: Knex.QueryBuilder, search: JobSearch): Knex.QueryBuilder {
  const pattern = likePattern(search);
  return q.andWhere((w) => {
    if (isRowId(search.text)) w.orWhere('id', search.text);
    w.orWhereRaw("LOWER(name) LIKE ? ESCAPE '!'", [pattern]).orWhereRaw("LOWER(queue) LIKE ? ESCAPE '!'", [pattern]);
  });
}

function toSummary(row: JobRow, now: number): JobSummary {
  const state = stateOf(row, now);
  return {
    id: String(row.id), name: row.name, queue: row.queue, payload: row.payloads, attempts: Number(row.attempts),
    scheduledAt: Number(row.scheduled_at), createdAt: Number(row.created_at), overlapKey: row.overlap_key ?? null,
    state, reservedUntil: state === 'reserved' ? Number(row.reserved_until) : null,
  };
}
