/**
 * The `database` driver's failed store (the failed-jobs table) behind `job:failed`, `job:forget`,
 * `job:flush` and `job:retry`. Pages are newest first by (failed_at, id) on the indexes
 * `<failed>_failed_at` and `<failed>_queue_failed`, the filter of store/failed/failed-view.ts as WHERE.
 * A requeue of many is one transaction: the rows without an overlap key moved by the server
 * (moveFree below), the others locked, inserted again with the key checked by the unique
 * index, as a push is (a held one leaving its row failed), and the requeued rows deleted.
 */
import type { Knex } from 'knex';
import type { FailedCounts, FailedFilter, FailedJob, FailedPage, FailedQuery, FailedStore, Requeued } from '../../store/driver.ts';
import { addCount, compareNewest, cursorAfter, errorPart, pageLimit, parseCursor, type FailedPosition } from '../../store/failed/failed-view.ts';
import { likePattern } from '../../store/job-view.ts';
import { CHUNK, idsInOrder, insertHolding, insertRows, type BulkSqlStore, type JobRowValues } from './database-bulk.ts';
import { sqlErrorCode } from './database-connection.ts';
import { isRowId } from './database-sql.ts';

/** Rows judged per page when a page searches the error text. */
const SCAN = 5_000;
/** The columns a requeue reads. */
const REQUEUE_COLUMNS = ['id', 'name', 'queue', 'payloads', 'overlap_key'];

export class DatabaseFailedStore implements FailedStore {
  constructor(private readonly store: BulkSqlStore) {}

  /** Whether MySQL pages of a queue name their index (false once the server says it is missing). */
  private hint = true;

  private get failed() {
    return this.store.knex(this.store.names.failedTable);
  }

  /**
   * The table a page is read from. MySQL/MariaDB would read a queue's page by the queue alone and
   * filter every newer row on the way to the cursor (a sweep's pages grew slower as it went): told
   * the index, it ranges over (queue, failed_at, id) from the cursor.
   */
  private listing(filter: FailedFilter): Knex.QueryBuilder {
    const { knex, names, dialect } = this.store;
    if (dialect !== 'mysql' || filter.queue === null || !this.hint) return this.failed;
    return knex.from(knex.raw('?? FORCE INDEX (??)', [names.failedTable, `${names.failedTable}_queue_failed`]));
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
    const after = parseCursor(query.after);
    if (query.after !== null && (!after || !isRowId(after.id))) return { jobs: [], next: null };
    return this.store.run(async () => {
      try {
        return await this.page(query, after);
      } catch (error) {
        // A table from before the page indexes (`rakit migrate` adds them): read without naming one.
        if (!this.hint || sqlErrorCode(error) !== 'ER_KEY_DOES_NOT_EXITS') throw error;
        this.hint = false;
        return this.page(query, after);
      }
    });
  }

  private async page(query: FailedQuery, after: FailedPosition | null): Promise<FailedPage> {
    const limit = pageLimit(query);
    const newest = (q: Knex.QueryBuilder, from: FailedPosition | null) => {
      // The first condition bounds the index scan; the second skips what the last page showed.
      if (from) q.where('failed_at', '<=', from.failedAt).where((w) => w.where('failed_at', '<', from.failedAt).orWhere('id', '<', from.id));
      return q.orderBy([{ column: 'failed_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
    };
    const error = errorPart(query);
    if (error === null) {
      const rows = (await newest(this.where(this.listing(query).select('*'), query), after).limit(limit + 1)) as Record<string, unknown>[];
      const jobs = rows.slice(0, limit).map(toFailed);
      return { jobs, next: rows.length > limit ? cursorAfter(jobs.at(-1)!) : null };
    }
    // A text search no index answers, and whose share of the rows a planner cannot guess: at
    // most SCAN rows in index order are judged a page. The first limit + 1 are read whole with
    // their verdict (a search most rows match ends there); when they hold too few matches, the
    // rest are judged by id and time and their matches read after.
    const judged = this.store.knex.raw("LOWER(exception) LIKE ? ESCAPE '!' AS hit", [likePattern({ text: error, part: error })]);
    const plain = { ...query, error: null };
    const isHit = (r: { hit?: unknown }) => r.hit === true || Number(r.hit) === 1;
    const first = (await newest(this.where(this.listing(query).select('*').select(judged), plain), after).limit(limit + 1)) as Record<string, unknown>[];
    const found = first.filter(isHit).map(toFailed);
    if (found.length > limit || first.length <= limit) {
      const jobs = found.slice(0, limit);
      return { jobs, next: found.length > limit ? cursorAfter(jobs.at(-1)!) : null };
    }
    const budget = SCAN - first.length;
    const from = { failedAt: Number(first.at(-1)!.failed_at), id: String(first.at(-1)!.id) };
    const seen = (await newest(this.where(this.listing(query).select('id', 'failed_at').select(judged), plain), from).limit(budget)) as { id: unknown; failed_at: unknown; hit: unknown }[];
    const hits = seen.filter(isHit).slice(0, limit + 1 - found.length);
    const wanted = hits.slice(0, limit - found.length).map((r) => String(r.id));
    const rows = wanted.length === 0 ? [] : ((await this.failed.select('*').whereIn('id', wanted)) as Record<string, unknown>[]);
    const jobs = [...found, ...rows.map(toFailed).sort(compareNewest)];
    const last = seen.at(-1);
    const next = found.length + hits.length > limit ? cursorAfter(jobs.at(-1)!) : seen.length === budget && last ? cursorAfter({ failedAt: Number(last.failed_at), id: String(last.id) }) : null;
    return { jobs, next };
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
      // Rows without an overlap key are moved by the server; the rest (all, where it cannot) below.
      let rest = wanted;
      for (let i = 0; i < wanted.length; i += MOVE_CHUNK) {
        const moved = await moveFree(this.store, trx, wanted.slice(i, i + MOVE_CHUNK), at);
        if (!moved) break;
        for (const [failedId, jobId] of moved) done.set(failedId, { jobId });
      }
      if (done.size > 0) rest = wanted.filter((id) => !done.has(id));
      const rows: (JobRowValues & { failedId: string })[] = [];
      for (let i = 0; i < rest.length; i += CHUNK) {
        // Locked: a second caller waits on the rows, then finds them gone.
        const found = (await trx(names.failedTable).select(REQUEUE_COLUMNS).whereIn('id', rest.slice(i, i + CHUNK)).forUpdate()) as Record<string, unknown>[];
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
      const requeued = rows.filter((r) => typeof done.get(r.failedId) === 'object').map((r) => r.failedId);
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

/** Failed rows per statement: one page of the sweep (failed-view.ts PAGE_MAX), bound variables well under SQLite's limit. */
const MOVE_CHUNK = 1_000;

const COPIED = 'name, queue, payloads, without_overlapping, overlap_key, attempts, scheduled_at, created_at, updated_at';

/**
 * Moves the failed rows of `ids` that hold no overlap key into the jobs table, due at `at`, without
 * their text passing through the process; the new job id of each moved failed id. On PostgreSQL
 * one statement deletes the rows, draws a job id for each in failed-id order and inserts the jobs;
 * on SQLite and MySQL/MariaDB the rows are locked, copied by INSERT ... SELECT in failed-id order
 * (whose ids follow that order) and deleted. Rows another caller holds are waited for, then found
 * gone. Null: this server cannot say which id each row got in one INSERT (MySQL without consecutive ids).
 */
async function moveFree(store: BulkSqlStore, trx: Knex.Transaction, ids: readonly string[], at: number): Promise<Map<string, string> | null> {
  const { names, clock, dialect } = store;
  const now = clock.now();
  const moved = new Map<string, string>();
  if (ids.length === 0) return moved;
  if (dialect === 'pg') {
    // `numbered` is read twice, so it is computed once: each row's drawn id is the one inserted.
    const { rows } = (await trx.raw(`WITH gone AS (
        DELETE FROM ?? WHERE id = ANY(?::bigint[]) AND overlap_key IS NULL RETURNING id, name, queue, payloads),
      numbered AS (
        SELECT g.id AS failed_id, nextval((SELECT pg_get_serial_sequence(?, 'id'))::regclass) AS job_id, g.name, g.queue, g.payloads
        FROM (SELECT * FROM gone ORDER BY id) AS g),
      made AS (
        INSERT INTO ?? (id, ${COPIED})
        SELECT job_id, name, queue, payloads, false, NULL, 0, ?::bigint, ?::bigint, ?::bigint FROM numbered)
      SELECT failed_id, job_id FROM numbered`,
    // An array binding would be spread into a list: the ids (digits only) go as one array literal.
    [names.failedTable, `{${ids.join(',')}}`, trx.raw('??', [names.table]).toQuery(), names.table, at, now, now])) as { rows: { failed_id: string | number; job_id: string | number }[] };
    for (const r of rows) moved.set(String(r.failed_id), String(r.job_id));
    return moved;
  }
  if (dialect === 'mysql' && !store.consecutiveIds) return null;
  // Locked (MySQL; SQLite's writer holds the database): a second caller waits, then finds them gone.
  const locked = trx(names.failedTable).select('id').whereIn('id', ids).whereNull('overlap_key').orderBy('id');
  const found = ((await (dialect === 'mysql' ? locked.forUpdate() : locked)) as { id: unknown }[]).map((r) => String(r.id));
  if (found.length === 0) return moved;
  // The new rows are written as push writes them (without_overlapping false, as 0 on these servers).
  const copy = `INSERT INTO ?? (${COPIED}) SELECT name, queue, payloads, 0, NULL, 0, ?, ?, ? FROM ?? WHERE id IN (${found.map(() => '?').join(', ')}) ORDER BY id`;
  const bindings = [names.table, at, now, now, names.failedTable, ...found];
  let jobIds: string[];
  if (dialect === 'mysql') {
    // One INSERT takes consecutive ids (innodb_autoinc_lock_mode 0 or 1), the first reported.
    const [result] = (await trx.raw(copy, bindings)) as [{ insertId: number; affectedRows: number }];
    if (result.affectedRows !== found.length) throw new Error(`Requeue copied ${result.affectedRows} of ${found.length} locked failed jobs`);
    jobIds = found.map((_, i) => String(result.insertId + i));
  } else {
    // SQLite numbers the rows as the SELECT gives them; RETURNING lists them in any order.
    jobIds = idsInOrder(((await trx.raw(`${copy} RETURNING id`, bindings)) as { id: number | string }[]).map((r) => r.id));
  }
  if (jobIds.length !== found.length) throw new Error(`Requeue copied ${jobIds.length} of ${found.length} locked failed jobs`);
  await trx(names.failedTable).whereIn('id', found).delete();
  found.forEach((id, i) => moved.set(id, jobIds[i]!));
  return moved;
}

function toFailed(r: Record<string, unknown>): FailedJob {
  return {
    id: String(r.id), jobId: String(r.job_id), name: String(r.name), queue: String(r.queue),
    payload: String(r.payloads), exception: String(r.exception), attempts: Number(r.attempts),
    overlapKey: (r.overlap_key as string | null) ?? null, failedAt: Number(r.failed_at),
  };
}
