/**
 * The outbox as the rest of rakit reaches it: a writer over an app's transaction (for
 * `withTransaction` when the job store is elsewhere), the relay over the app's database, and
 * the backlog `job:status` and the dashboard show. Each opens the app's database (`database`) with knex, which
 * loads only when the outbox is used.
 */
import type { Knex } from 'knex';
import type { JobConfig } from '../../infra/config.ts';
import type { Logger } from '../../infra/logger.ts';
import type { QueuePart, TransactionWriter } from '../../store/driver.ts';
import { createKnex } from '../../drivers/database/database-connection.ts';
import { dialectOf } from '../../drivers/database/database-sql.ts';
import { appConnection } from '../../drivers/database/transaction-adapters.ts';
import { OutboxWriter } from './outbox-writer.ts';
import { OutboxRelay } from './relay.ts';

/** One knex per configuration, for compiling the writers' statements (it connects to nothing). */
const compilers = new WeakMap<JobConfig, Knex>();

export function outboxWriterFor(config: JobConfig, trx: unknown, now: () => number): TransactionWriter {
  const connection = appConnection(trx);
  let knex = compilers.get(config);
  if (!knex) compilers.set(config, (knex = createKnex(config.database, config.root)));
  return new OutboxWriter(knex, connection.dialect ?? dialectOf(knex), config.outbox_table, connection, now);
}

/** The backlog over the app's database (jobs of committed rows waiting for the relay); `close()` lets its connections go. */
export function openBacklog(config: JobConfig): { read(): Promise<number>; close(): Promise<void> } {
  const knex = createKnex(config.database, config.root);
  return {
    async read() {
      const [row] = (await knex(config.outbox_table).sum({ n: 'n' })) as { n: unknown }[];
      return Number(row?.n ?? 0);
    },
    close: () => knex.destroy(),
  };
}

/** A relay over the app's database; `close()` lets its connections go. */
export function openRelay(config: JobConfig, driver: Pick<QueuePart, 'pushMany'>, logger: Pick<Logger, 'info' | 'warn'>): { relay: OutboxRelay; close(): Promise<void> } {
  const knex = createKnex(config.database, config.root);
  return { relay: new OutboxRelay(knex, config.outbox_table, driver, logger), close: () => knex.destroy() };
}
