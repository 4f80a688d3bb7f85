/**
 * Turns an app's transaction into one function that runs a compiled statement on its connection:
 * a knex transaction, a `pg` client, a `mysql2` connection (promise or callback API), a
 * better-sqlite3 database, or the app's own SqlExecute (the one-function adapter of an ORM).
 * Each says which dialect it speaks when it can know. What is passed is checked by the public
 * shape of each client library, and anything else (a pool, a knex instance, a finished knex
 * transaction, a better-sqlite3 database outside a transaction) is refused with what to pass instead.
 */
import { UsageError } from '../../infra/errors.ts';
import type { SqlExecute } from '../../store/driver.ts';
import type { Dialect } from './database-sql.ts';

/** A statement compiled for the store's dialect: `sql` with `?` placeholders, `native` with the client's own. */
export interface CompiledStatement {
  sql: string;
  native: string;
  bindings: unknown[];
}

export type Row = Record<string, unknown>;

export interface AppConnection {
  /** Null for the app's own SqlExecute: it may speak any dialect. */
  dialect: Dialect | null;
  /** What it is, for messages: `a knex transaction`, `a pg client`, ... */
  kind: string;
  execute(statement: CompiledStatement): Promise<Row[]>;
}

type Loose = Record<string, unknown> & { [key: string]: any };

/** Whether `trx` is a knex transaction (afterCommit waits on its commit). */
export function isKnexTransaction(trx: unknown): trx is Loose & { executionPromise: Promise<unknown>; isCompleted(): boolean } {
  return typeof trx === 'function' && (trx as unknown as Loose).isTransaction === true && (trx as unknown as Loose).executionPromise instanceof Promise;
}

export function appConnection(trx: unknown): AppConnection {
  if (isKnexTransaction(trx)) return knexTransaction(trx);
  const t = trx as Loose;
  if (typeof trx === 'function') {
    if (typeof t.raw === 'function' && t.client) throw refused('a knex instance', 'the transaction: knex.transaction(async (trx) => ... .withTransaction(trx))');
    const execute = trx as SqlExecute;
    return { dialect: null, kind: 'your SqlExecute function', execute: async (s) => rowsOf(await execute(s.native, [...s.bindings])) };
  }
  if (trx === null || typeof trx !== 'object') throw refused(trx === null ? 'null' : typeof trx, 'a transaction');
  // better-sqlite3: Database has prepare() and inTransaction.
  if (typeof t.prepare === 'function' && typeof t.inTransaction === 'boolean') return betterSqlite(t);
  // pg: Client and PoolClient carry their connectionParameters; a Pool does not.
  if (typeof t.query === 'function' && t.connectionParameters) {
    return { dialect: 'pg', kind: 'a pg client', execute: async (s) => rowsOf(await t.query(s.native, s.bindings)) };
  }
  if (typeof t.query === 'function' && typeof t.totalCount === 'number') throw refused('a pg Pool', 'the client you ran BEGIN on: const client = await pool.connect()');
  // mysql2: a pool hands out connections; a connection of the promise API wraps one of the callback API.
  if (typeof t.getConnection === 'function') throw refused('a mysql2 pool', 'the connection you began the transaction on: await pool.getConnection()');
  if (typeof t.query === 'function' && t.connection && typeof t.connection.threadId !== 'undefined') {
    return { dialect: 'mysql', kind: 'a mysql2 connection', execute: async (s) => rowsOf(await t.query(s.native, s.bindings)) };
  }
  if (typeof t.query === 'function' && typeof t.threadId !== 'undefined') {
    return {
      dialect: 'mysql', kind: 'a mysql2 connection',
      execute: (s) => new Promise((resolve, reject) => {
        t.query(s.native, s.bindings, (error: Error | null, rows: unknown) => (error ? reject(error) : resolve(rowsOf(rows))));
      }),
    };
  }
  throw refused('an object rakit does not know', 'a knex transaction, a pg client, a mysql2 connection, a better-sqlite3 database, or a function (sql, params) => rows');
}

function knexTransaction(trx: Loose): AppConnection {
  if (trx.isCompleted()) throw new UsageError('withTransaction(): this knex transaction has already committed or rolled back');
  const client = String(trx.client?.config?.client ?? '');
  const dialect: Dialect | null = client.includes('sqlite') ? 'sqlite' : client.startsWith('mysql') ? 'mysql' : client === 'pg' || client.startsWith('postgres') ? 'pg' : null;
  return {
    dialect, kind: `a knex transaction (${client})`,
    // knex.raw takes `?` placeholders and binds them the way its client does.
    execute: async (s) => rowsOf(await trx.raw(s.sql, s.bindings)),
  };
}

function betterSqlite(db: Loose): AppConnection {
  return {
    dialect: 'sqlite', kind: 'a better-sqlite3 database',
    execute: async (s) => {
      // db.transaction(fn) runs fn synchronously and has committed before a dispatch stores anything.
      if (!db.inTransaction) {
        throw new UsageError('withTransaction(): the better-sqlite3 database is not inside a transaction. db.transaction(fn) commits when fn returns, before an awaited dispatch runs: '
          + "run db.exec('BEGIN') before and db.exec('COMMIT') after instead");
      }
      const statement = db.prepare(s.native);
      if (statement.reader) return statement.all(...s.bindings) as Row[];
      statement.run(...s.bindings);
      return [];
    },
  };
}

/** The rows of a result: an array of rows, mysql2's [rows, fields], or an object with `rows` (pg). */
export function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) {
    if (result.length === 2 && (Array.isArray(result[1]) || result[1] === undefined) && typeof result[0] === 'object' && result[0] !== null
      && (Array.isArray(result[0]) || 'affectedRows' in result[0])) return Array.isArray(result[0]) ? (result[0] as Row[]) : [];
    return result.filter((row): row is Row => typeof row === 'object' && row !== null && !Array.isArray(row));
  }
  const rows = (result as { rows?: unknown } | null)?.rows;
  return Array.isArray(rows) ? (rows as Row[]) : [];
}

function refused(what: string, instead: string): UsageError {
  return new UsageError(`withTransaction(): got ${what}; pass ${instead}`);
}
