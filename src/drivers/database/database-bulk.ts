/**
 * The `database` driver's bulk push (BulkQueue in src/store/driver.ts): every job of the call
 * in one transaction, rows without an overlap key in multi-row INSERTs, each row with one in an
 * INSERT that gives way to the key's holder (ON CONFLICT DO NOTHING / INSERT IGNORE). Rows are
 * written in the order given, so ids, and the claim order of jobs due at one time, follow it.
 * Either all are stored or none (a deadlock retries the whole transaction). The statements and
 * their order are shared with writing in an app's transaction (database-transaction.ts).
 */
import type { Knex } from 'knex';
import type { NewJob, PushResult } from '../../store/driver.ts';
import type { SqlStore } from './database-sql.ts';
import { sqlErrorCode } from './database-connection.ts';
import { CombinedPush } from '../combined-push.ts';

/** Rows per INSERT: well under SQLite's 32,766 bound variables at nine columns a row. */
export const CHUNK = 500;

export interface BulkSqlStore extends SqlStore {
  /** A multi-row INSERT on MySQL gets consecutive ids (innodb_autoinc_lock_mode 0 or 1; known once open). */
  readonly consecutiveIds: boolean;
}

export type JobRowValues = Record<string, unknown> & { overlap_key: string | null };

/** The rows of the jobs, stamped `now`. */
export function jobRows(jobs: readonly NewJob[], now: number): JobRowValues[] {
  return jobs.map((job) => ({
    name: job.name, queue: job.queue, payloads: job.payload,
    without_overlapping: job.overlapKey !== null, overlap_key: job.overlapKey,
    attempts: 0, scheduled_at: job.scheduledAt, created_at: now, updated_at: now,
  }));
}

/** The INSERT of rows without overlap keys (returning their ids, but on MySQL). */
export function insertRowsQuery(store: SqlStore, db: Knex | Knex.Transaction, rows: readonly Record<string, unknown>[]): Knex.QueryBuilder {
  const q = db(store.names.table).insert(rows);
  return store.dialect === 'mysql' ? q : q.returning('id');
}

/** The INSERT of a row with an overlap key that gives way to the key's holder. */
export function insertHoldingQuery(store: SqlStore, db: Knex | Knex.Transaction, row: Record<string, unknown>): Knex.QueryBuilder {
  const q = db(store.names.table).insert(row).onConflict('overlap_key').ignore();
  return store.dialect === 'mysql' ? q : q.returning('id');
}

/** The job holding an overlap key. */
export function holderQuery(store: SqlStore, db: Knex | Knex.Transaction, key: string): Knex.QueryBuilder {
  return db(store.names.table).where('overlap_key', key).first('id');
}

/** How rows are written: those without a key in chunks (their ids in order), one with a key on its own. */
export interface RowWriter {
  insertRows(rows: JobRowValues[]): Promise<string[]>;
  insertHolding(row: JobRowValues): Promise<PushResult>;
}

/** Writes the rows in the order given, chunking runs of rows without a key; one result per row. */
export async function writeInOrder(rows: readonly JobRowValues[], writer: RowWriter): Promise<PushResult[]> {
  const results = new Array<PushResult>(rows.length);
  let start = 0;
  const flush = async (end: number) => {
    for (let from = start; from < end; from += CHUNK) {
      const to = Math.min(end, from + CHUNK);
      const ids = await writer.insertRows(rows.slice(from, to));
      for (let i = from; i < to; i++) results[i] = { id: ids[i - from]! };
    }
    start = end;
  };
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.overlap_key === null) continue;
    await flush(i);
    results[i] = await writer.insertHolding(rows[i]!);
    start = i + 1;
  }
  await flush(rows.length);
  return results;
}

/** Ids RETURNING gave for one multi-row INSERT, in the order of its VALUES (it may list them in any order). */
export function idsInOrder(ids: readonly (number | string | bigint)[]): string[] {
  return ids.map((id) => BigInt(id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

export async function pushMany(store: BulkSqlStore, jobs: readonly NewJob[]): Promise<PushResult[]> {
  if (jobs.length === 0) return [];
  const rows = jobRows(jobs, store.clock.now());
  return store.run(() => store.knex.transaction((trx) => writeInOrder(rows, {
    insertRows: (chunk) => insertRows(store, trx, chunk),
    insertHolding: (row) => insertHolding(store, trx, row),
  })));
}

/** Inserts rows without overlap keys; their ids in order. */
export async function insertRows(store: BulkSqlStore, trx: Knex | Knex.Transaction, rows: Record<string, unknown>[]): Promise<string[]> {
  if (store.dialect === 'mysql') {
    if (!store.consecutiveIds) {
      const ids: string[] = [];
      for (const row of rows) ids.push(await store.insertJob(trx, row));
      return ids;
    }
    const [first] = (await insertRowsQuery(store, trx, rows)) as number[];
    return rows.map((_, i) => String(first! + i));
  }
  return idsInOrder(((await insertRowsQuery(store, trx, rows)) as { id: number | string }[]).map((r) => r.id));
}

/** Inserts a row with an overlap key, or says which job holds the key. */
export async function insertHolding(store: BulkSqlStore, trx: Knex.Transaction, row: JobRowValues): Promise<PushResult> {
  if (store.dialect === 'mysql') {
    const [id] = (await insertHoldingQuery(store, trx, row)) as number[];
    if (id) return { id: String(id) };
  } else {
    const [inserted] = (await insertHoldingQuery(store, trx, row)) as { id: number | string }[];
    if (inserted) return { id: String(inserted.id) };
  }
  const holder = (await holderQuery(store, trx, row.overlap_key!)) as { id: number | string } | undefined;
  return { skipped: 'overlapping', existingId: holder ? String(holder.id) : null };
}

/**
 * Writes in flight at once for jobs without an overlap key, each one statement: a pool's
 * connections are left to the workers and the app, and PostgreSQL and MariaDB commit (and
 * flush their logs) once per group rather than once per job.
 */
const COMBINED_WRITES = 2;

/**
 * How single dispatches of jobs without an overlap key are written (combined-push.ts): alone, or,
 * made while others were being written, in one multi-row INSERT without a transaction (one
 * statement stores all or none). When that one fails, each is written again on its own, so
 * each dispatch gets its own outcome.
 */
export function combinedInserts(store: BulkSqlStore): CombinedPush<JobRowValues> {
  const one = (row: JobRowValues): Promise<PushResult> => store.run(async () => ({ id: await store.insertJob(store.knex, row) }));
  const each = (rows: JobRowValues[]) => Promise.allSettled(rows.map(one));
  return new CombinedPush<JobRowValues>(COMBINED_WRITES, CHUNK, one, async (rows) => {
    if (store.dialect === 'mysql' && !store.consecutiveIds) return each(rows);
    let ids: string[];
    try {
      ids = await store.run(() => insertRows(store, store.knex, rows));
    } catch (error) {
      // Refused by the server, the statement stored nothing; a connection lost meanwhile may have stored them all.
      if (!refused(error)) throw error;
      return each(rows);
    }
    return ids.map((id) => ({ status: 'fulfilled', value: { id } }));
  });
}

/**
 * Whether the server refused a statement (it stored nothing): a MySQL or SQLite error, or a
 * PostgreSQL SQLSTATE other than a connection's or a shutdown's, never a lost connection.
 */
function refused(error: unknown): boolean {
  const code = sqlErrorCode(error);
  if (/^(ER_|SQLITE_)/.test(code)) return true;
  return /^[0-9A-Z]{5}$/.test(code) && /\d/.test(code) && !/^(08|57P)/.test(code);
}
