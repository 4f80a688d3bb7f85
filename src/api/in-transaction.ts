/**
 * A dispatch and the app's transaction. `.withTransaction(trx)` writes through the app's
 * connection, where the job store can (the database driver: TransactionalStore in
 * store/driver.ts), and fails loudly where it cannot. `.afterCommit(trx)` keeps the dispatch in
 * memory until the transaction commits and drops it on rollback (Laravel's semantics): a knex
 * transaction says when itself; any other transaction tells an `AfterCommit` the app made.
 * A crash between the commit and the dispatch loses the job.
 */
import { UsageError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import type { QueuePart, SqlExecute, TransactionWriter } from '../store/driver.ts';
import type { JobConfig } from '../infra/config.ts';
import type { Clock } from '../infra/clock.ts';
import { isKnexTransaction } from '../drivers/database/transaction-adapters.ts';

/** An app's transaction: a knex transaction, a `pg` client or `mysql2` connection in one, a better-sqlite3 database inside BEGIN, or a SqlExecute. */
export type AppTransaction = SqlExecute | object;

/** What `.afterCommit()` resolves to at once: the job is stored when the transaction commits. */
export interface QueuedAfterCommit {
  afterCommit: true;
  name: string;
  queue: string;
  /** How many jobs wait for the commit. */
  jobs: number;
}

/**
 * The writer of `trx`: the job store itself where it is the app's database; else, with
 * `outbox: true`, the outbox table in the app's database (src/outbox/); else it throws, naming both.
 */
export async function writerIn(env: { driver: Pick<QueuePart, 'transactions' | 'description'>; config: JobConfig; clock: Clock }, trx: unknown): Promise<TransactionWriter> {
  const { driver, config } = env;
  if (driver.transactions) return driver.transactions.writerFor(trx);
  if (config.outbox) return (await import('../flows/outbox/outbox-store.ts')).outboxWriterFor(config, trx, () => env.clock.now());
  throw new UsageError(`withTransaction(): the job store is ${driver.description}, not the app's SQL database, so a job cannot be written in the app's transaction. `
    + 'Set outbox: true in application/config/job.ts (then rakit job:table && rakit migrate): the job goes to an outbox table in the app\'s database (`database`), '
    + 'and job:runall moves it to the job store once committed; or use .afterCommit(trx), which dispatches once the transaction commits and loses the job if the process dies in between');
}

/**
 * Dispatches that wait for a transaction the app commits itself (a `pg` client, a mysql2
 * connection, an ORM): pass it to `.afterCommit()`, then call `commit()` after COMMIT, or
 * `rollback()` after ROLLBACK. Nothing is stored before `commit()`.
 */
export class AfterCommit {
  #waiting: (() => Promise<unknown>)[] = [];
  #settled: 'committed' | 'rolled back' | null = null;

  /** Stores every dispatch that waited, in order; rejects with the first failure, having tried them all. */
  async commit(): Promise<void> {
    const waiting = this.settle('committed');
    let failure: unknown = null;
    for (const dispatch of waiting) await dispatch().catch((error: unknown) => (failure ??= error));
    if (failure !== null) throw failure;
  }

  /** Drops every dispatch that waited. */
  rollback(): void {
    this.settle('rolled back');
  }

  /** @internal Adds a dispatch to store at commit. */
  add(dispatch: () => Promise<unknown>): void {
    if (this.#settled) throw new UsageError(`afterCommit(): this AfterCommit has already ${this.#settled}: make a new one for the next transaction`);
    this.#waiting.push(dispatch);
  }

  private settle(how: 'committed' | 'rolled back'): (() => Promise<unknown>)[] {
    if (this.#settled) throw new UsageError(`AfterCommit: already ${this.#settled}`);
    this.#settled = how;
    const waiting = this.#waiting;
    this.#waiting = [];
    return waiting;
  }
}

/**
 * Runs `dispatch` once `trx` commits: a knex transaction's own commit, or the app's call of
 * `commit()` on an AfterCommit. After a knex commit no caller is waiting: a failure is logged.
 */
export function whenCommitted(trx: unknown, dispatch: () => Promise<unknown>, logger: Pick<Logger, 'error'>, what: string): void {
  if (trx instanceof AfterCommit) return trx.add(dispatch);
  if (!isKnexTransaction(trx)) {
    throw new UsageError('afterCommit(): pass a knex transaction, or an AfterCommit you commit() after your COMMIT (new AfterCommit() from rakit)');
  }
  if (trx.isCompleted()) throw new UsageError('afterCommit(): this knex transaction has already ended: dispatch without afterCommit()');
  // knex resolves a transaction rolled back without an error too: its ROLLBACK statement tells them apart.
  let rolledBack = false;
  const listen = (query: { sql?: unknown }) => {
    if (typeof query.sql === 'string' && /^\s*ROLLBACK\b/i.test(query.sql)) rolledBack = true;
  };
  trx.on('query', listen);
  trx.executionPromise.then(() => {
    trx.removeListener('query', listen);
    if (rolledBack) return;
    const storing: Promise<unknown> = dispatch()
      .catch((error: unknown) => logger.error({ err: error }, `Job lost after the commit: ${what} could not be stored`))
      .finally(() => storing && started.delete(storing));
    started.add(storing);
  }, () => trx.removeListener('query', listen));
}

/** Dispatches of committed knex transactions still being stored. */
const started = new Set<Promise<unknown>>();

/** Resolves once the dispatches of transactions that have committed are stored: closing the runtime waits for them. */
export async function afterCommitsStored(): Promise<void> {
  // A commit's callbacks may run just after the caller's own: let them start first.
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.allSettled([...started]);
}
