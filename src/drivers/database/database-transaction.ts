/**
 * Writing in an app's own transaction (`.withTransaction(trx)`, TransactionalStore in
 * src/store/driver.ts): the driver's own statements (database-bulk.ts, the records' INSERT),
 * compiled by its knex for its dialect and run on the app's connection (transaction-adapters.ts).
 * Before the first write on a connection it checks that the connection sees the very tables the
 * workers read: same dialect, same database (a fingerprint read both ways), the jobs table there;
 * anything else is refused, naming the outbox as the way for a job store elsewhere.
 * Overlap keys hold as in the driver: the INSERT gives way to the key's holder, and waits for a
 * transaction that holds it uncommitted (PostgreSQL, MySQL), or for the database (SQLite).
 * Nothing is retried here: a deadlock aborts the app's transaction, and the app retries it.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { UsageError } from '../../infra/errors.ts';
import type { NewJob, PushResult, TransactionWriter, TransactionalStore } from '../../store/driver.ts';
import {
  holderQuery, idsInOrder, insertHoldingQuery, insertRowsQuery, jobRows, writeInOrder, type BulkSqlStore, type JobRowValues,
} from './database-bulk.ts';
import { databaseError } from './database-connection.ts';
import type { Dialect } from './database-sql.ts';
import { appConnection, type AppConnection, type CompiledStatement, type Row } from './transaction-adapters.ts';

/** What serves an app whose database is not the job store's. */
const OUTBOX = 'with the job store on another database, dispatch with .afterCommit(trx); the outbox (outbox: true) serves job stores that are not SQL databases (Redis, file, memcached)';

export class DatabaseTransactions implements TransactionalStore {
  /** The store's own fingerprint, read once through its own connection. */
  private mine: Promise<string | null> | null = null;
  /** Connections already checked (a pg client or mysql2 connection serves many transactions). */
  private readonly checked = new WeakMap<object, Promise<void>>();

  constructor(private readonly store: BulkSqlStore) {}

  async writerFor(trx: unknown): Promise<TransactionWriter> {
    const connection = appConnection(trx);
    // Opens the store: its dialect's abilities (consecutive ids on MySQL) are known from here on.
    await this.store.run(async () => undefined);
    if (connection.dialect !== null && connection.dialect !== this.store.dialect) {
      throw new UsageError(`withTransaction(): got ${connection.kind}, and the job store is ${this.store.dialect === 'pg' ? 'PostgreSQL' : this.store.dialect === 'mysql' ? 'MySQL/MariaDB' : 'SQLite'}: `
        + `the transaction must be on the job store's database; ${OUTBOX}`);
    }
    let check = this.checked.get(trx as object);
    if (!check) this.checked.set(trx as object, (check = this.check(connection)));
    await check;
    return new AppTransactionWriter(this.store, connection);
  }

  /** Refuses a connection that is not on the store's database, or cannot see its tables. */
  private async check(connection: AppConnection): Promise<void> {
    this.mine ??= this.store.run(async () => {
      const [sql, bindings] = fingerprintSql(this.store.dialect, this.store.names.table);
      return fingerprintOf(this.store.dialect, rowsOfRaw(await this.store.knex.raw(sql, bindings)));
    });
    const [sql, bindings] = fingerprintSql(this.store.dialect, this.store.names.table);
    let theirs: string | null;
    try {
      theirs = fingerprintOf(this.store.dialect, await connection.execute(compileRaw(this.store.knex, sql, bindings)));
    } catch (error) {
      throw new UsageError(`withTransaction(): could not read which database ${connection.kind} is on (${databaseError(error).message}); ${OUTBOX}`, { cause: error });
    }
    if (theirs === null || theirs !== (await this.mine)) {
      throw new UsageError(`withTransaction(): ${connection.kind} is not on the job store's database (${this.store.names.table} there is not the one the workers read): `
        + `a job written there would never run. Give it a transaction on the job store's database; ${OUTBOX}`);
    }
  }
}

class AppTransactionWriter implements TransactionWriter {
  constructor(private readonly store: BulkSqlStore, private readonly connection: AppConnection) {}

  async push(job: NewJob): Promise<PushResult> {
    return (await this.pushMany([job]))[0]!;
  }

  pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const store = this.store;
    return this.guard(() => writeInOrder(jobRows(jobs, store.clock.now()), {
      insertRows: async (rows) => {
        if (store.dialect !== 'mysql') return idsInOrder((await this.run(insertRowsQuery(store, store.knex, rows))).map((r) => r.id as number | string));
        if (store.consecutiveIds) {
          const { id } = await this.runMysqlInsert(insertRowsQuery(store, store.knex, rows));
          return rows.map((_, i) => String(BigInt(id) + BigInt(i)));
        }
        const ids: string[] = [];
        for (const row of rows) ids.push((await this.runMysqlInsert(insertRowsQuery(store, store.knex, [row]))).id);
        return ids;
      },
      insertHolding: async (row: JobRowValues) => {
        if (store.dialect === 'mysql') {
          const { id, count } = await this.runMysqlInsert(insertHoldingQuery(store, store.knex, row));
          if (count > 0) return { id };
        } else {
          const [inserted] = await this.run(insertHoldingQuery(store, store.knex, row));
          if (inserted) return { id: String(inserted.id as number | string) };
        }
        const [holder] = await this.run(holderQuery(store, store.knex, row.overlap_key!));
        return { skipped: 'overlapping', existingId: holder ? String(holder.id as number | string) : null };
      },
    }));
  }

  async casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    if (version !== null) throw new UsageError('In an app\'s transaction a record can only be created');
    const now = this.store.clock.now();
    const row = { namespace, id, value, version: randomBytes(9).toString('base64url'), written_at: now, expires_at: ttlMs === null ? null : now + ttlMs };
    const insert = this.store.knex(`${this.store.names.table}_records`).insert(row).onConflict(['namespace', 'id']).ignore();
    return this.guard(async () => {
      if (this.store.dialect === 'mysql') return (await this.runMysqlInsert(insert)).count > 0;
      return (await this.run(insert.returning('id'))).length > 0;
    });
  }

  private run(query: Knex.QueryBuilder): Promise<Row[]> {
    return this.connection.execute(compile(this.store.dialect, query));
  }

  /** An INSERT on MySQL, then its first id and how many rows it wrote, read on the same connection. */
  private async runMysqlInsert(query: Knex.QueryBuilder): Promise<{ id: string; count: number }> {
    await this.run(query);
    const [row] = await this.connection.execute({ sql: 'SELECT LAST_INSERT_ID() AS id, ROW_COUNT() AS n', native: 'SELECT LAST_INSERT_ID() AS id, ROW_COUNT() AS n', bindings: [] });
    return { id: String(row?.id as number | string), count: Number(row?.n ?? 0) };
  }

  /** A failed statement as a DatabaseError that names the operation, never the SQL or values. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw error instanceof UsageError ? error : databaseError(error);
    }
  }
}

/** A query compiled for the store's dialect; booleans bound as 1/0 where the column is an integer (SQLite, MySQL). */
export function compile(dialect: Dialect, query: Knex.QueryBuilder): CompiledStatement {
  const compiled = query.toSQL();
  const native = compiled.toNative();
  return { sql: compiled.sql, native: native.sql, bindings: native.bindings.map((v) => (typeof v === 'boolean' && dialect !== 'pg' ? Number(v) : v)) };
}

function compileRaw(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): CompiledStatement {
  const native = knex.raw(sql, bindings).toSQL().toNative();
  return { sql, native: native.sql, bindings: [...native.bindings] };
}

/**
 * Which database a connection is on, and whether it sees the jobs table: the file (SQLite); the
 * database, the server's start and the table's oid through the search path (PostgreSQL); the
 * schema, host and port (MySQL/MariaDB). Read-only, so it never waits on the app's locks.
 */
function fingerprintSql(dialect: Dialect, table: string): [string, Knex.RawBinding[]] {
  switch (dialect) {
    case 'sqlite':
      return ["SELECT (SELECT file FROM pragma_database_list WHERE name = 'main') AS db, (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?) AS tbl", [table]];
    case 'pg':
      return ['SELECT current_database() AS db, extract(epoch from pg_postmaster_start_time())::text AS started, to_regclass(?)::oid::text AS tbl', [table]];
    case 'mysql':
      return ['SELECT DATABASE() AS db, @@hostname AS host, @@port AS port, (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?) AS tbl', [table]];
  }
}

/** The fingerprint, or null when the jobs table is not there (or a SQLite database is in memory). */
function fingerprintOf(dialect: Dialect, rows: Row[]): string | null {
  const row = rows[0];
  if (!row || row.tbl === null || row.tbl === undefined || Number(row.tbl) === 0 || (dialect === 'sqlite' && !row.db)) return null;
  return JSON.stringify(Object.keys(row).sort().map((key) => String(row[key])));
}

function rowsOfRaw(result: unknown): Row[] {
  if (Array.isArray(result)) return (Array.isArray(result[0]) ? result[0] : result) as Row[];
  return ((result as { rows?: Row[] }).rows ?? []);
}
