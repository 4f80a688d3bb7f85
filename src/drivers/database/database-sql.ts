/**
 * What the parts of the `database` driver share (the driver itself, its claims, its batched acks
 * and its failed store): the tables, the dialect and what the server can do, the statement
 * runner, and how a row becomes a reserved job.
 */
import type { Knex } from 'knex';
import type { Clock } from '../../infra/clock.ts';
import type { ReservedJob } from '../../store/driver.ts';
import { RakitError } from '../../infra/errors.ts';
import { databaseError, sqlErrorCode } from './database-connection.ts';

export interface TableNames {
  table: string;
  failedTable: string;
}

export type Dialect = 'sqlite' | 'mysql' | 'pg';

/** The dialect of a knex instance (its client: better-sqlite3, mysql2, pg). */
export function dialectOf(knex: Knex): Dialect {
  const client = String(knex.client.config.client);
  return client.includes('sqlite') ? 'sqlite' : client.startsWith('mysql') ? 'mysql' : 'pg';
}

export interface SqlStore {
  readonly knex: Knex;
  readonly names: TableNames;
  readonly clock: Clock;
  readonly dialect: Dialect;
  /** The server has `FOR UPDATE SKIP LOCKED` (known once the store is open). */
  readonly skipLocked: boolean;
  /** DELETE ... RETURNING says which rows went: PostgreSQL and MariaDB, not MySQL (known once open). */
  readonly deleteReturns: boolean;
  /** Runs statements once the store is open, retrying deadlocks and busy errors. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Inserts a job row; its id. */
  insertJob(db: Knex | Knex.Transaction, row: Record<string, unknown>): Promise<string>;
  /** The jobs that a claim at `now` may take: due, and not held under a lease. */
  whereDue(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder;
}

export interface JobRow {
  id: number | string;
  name: string;
  queue: string;
  payloads: string;
  overlap_key: string | null;
  attempts: number | string;
  scheduled_at: number | string;
  created_at: number | string;
  reserved_until: number | string | null;
  reserved_by: string | null;
}

/** A unique index refused the row: an overlap key already held. */
/** Deadlocks, lock waits and busy errors: the statement is tried again. */
export const RETRYABLE = new Set([
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', '40P01', '40001', '55P03',
  'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED',
]);
const MISSING_TABLE = new Set(['ER_NO_SUCH_TABLE', '42P01']);

/** Whether `error` says a table is missing (MySQL, PostgreSQL or SQLite). */
export function missingTable(error: unknown): boolean {
  return MISSING_TABLE.has(sqlErrorCode(error)) || /no such table/i.test((error as Error)?.message ?? '');
}

/**
 * Runs a statement, retrying deadlocks and busy errors (up to 50 tries, at most 200 ms apart).
 * `explain` may turn a failure into the error to throw at once (a missing table into advice);
 * any other failure becomes a DatabaseError that names the operation and code, never the SQL or
 * its values.
 */
export async function runSql<T>(work: () => Promise<T>, explain: (error: unknown) => Error | null): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const explained = explain(error);
      if (explained) throw explained;
      if (!RETRYABLE.has(sqlErrorCode(error)) || attempt >= 50) throw error instanceof Error && !(error instanceof RakitError) ? databaseError(error) : error;
      await new Promise((r) => setTimeout(r, Math.min(200, 2 ** Math.min(attempt, 7)) * Math.random()));
    }
  }
}

export const DUPLICATE = new Set(['ER_DUP_ENTRY', '23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

export function toReserved(row: JobRow): ReservedJob {
  return {
    id: String(row.id), name: row.name, queue: row.queue, payload: row.payloads,
    attempts: Number(row.attempts), scheduledAt: Number(row.scheduled_at), createdAt: Number(row.created_at),
    overlapKey: row.overlap_key ?? null, token: String(row.reserved_by), reservedUntil: Number(row.reserved_until),
  };
}

/** Row ids are positive integers; anything else names no row (and must not reach a BIGINT column). */
export function isRowId(id: string): boolean {
  return /^[1-9]\d{0,17}$/.test(id);
}

/** A compiled statement: its SQL with `?` placeholders, and their values. */
export interface Statement {
  sql: string;
  bindings: readonly unknown[];
}

/**
 * Every queue (and lane) holding a row: one probe of the queue index per distinct name (a loose
 * index scan written as a recursive query), not a read of every row.
 */
export async function distinctQueues(store: Pick<SqlStore, 'knex' | 'names'>): Promise<string[]> {
  const t = store.names.table;
  const result = await store.knex.raw(
    `WITH RECURSIVE q(name) AS (SELECT MIN(queue) FROM ?? UNION ALL SELECT (SELECT MIN(queue) FROM ?? WHERE queue > q.name) FROM q WHERE q.name IS NOT NULL) SELECT name FROM q WHERE name IS NOT NULL`,
    [t, t],
  );
  const rows = (Array.isArray(result) ? (Array.isArray(result[0]) ? result[0] : result) : (result as { rows: unknown[] }).rows) as { name: string }[];
  return rows.map((row) => row.name);
}
