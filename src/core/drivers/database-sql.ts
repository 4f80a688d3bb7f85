/**
 * What the parts of the `database` driver share (the driver itself, its claims, its batched acks
 * and its failed store): the tables, the dialect and what the server can do, the statement
 * runner, and how a row becomes a reserved job.
 */
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import type { ReservedJob } from '../driver.ts';

export interface TableNames {
  table: string;
  failedTable: string;
}

export type Dialect = 'sqlite' | 'mysql' | 'pg';

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
export const DUPLICATE = new Set(['ER_DUP_ENTRY', '23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

export function toReserved(row: JobRow): ReservedJob {
  return {
    id: String(row.id), name: row.name, queue: row.queue, payload: row.payloads,
    attempts: Number(row.attempts), scheduledAt: Number(row.scheduled_at), createdAt: Number(row.created_at),
    overlapKey: row.overlap_key ?? null, token: String(row.reserved_by), reservedUntil: Number(row.reserved_until),
  };
}
