/**
 * Dispatches written in an app's transaction while the job store is elsewhere (Redis, file,
 * memcached, another database): the jobs go to the outbox table in the app's database, through
 * the app's own connection (transaction-adapters.ts), and commit or roll back with its rows.
 * On PostgreSQL the insert also sends a NOTIFY, delivered at commit, that wakes the relay.
 * A dispatch answers with the outbox row's mark, `outbox:<uid>.<i>`, as its id: the job's own id
 * is given by the job store when the relay moves it. Overlap keys are checked then, by that push.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { UsageError } from '../../infra/errors.ts';
import type { NewJob, PushResult, TransactionWriter } from '../../store/driver.ts';
import { compile } from '../../drivers/database/database-transaction.ts';
import type { Dialect } from '../../drivers/database/database-sql.ts';
import type { AppConnection } from '../../drivers/database/transaction-adapters.ts';
import type { OutboxJob } from './outbox-table.ts';

/** The channel the relay listens on (PostgreSQL). */
export const OUTBOX_CHANNEL = 'rakit_outbox';

export class OutboxWriter implements TransactionWriter {
  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
    private readonly table: string,
    private readonly connection: AppConnection,
    private readonly now: () => number,
  ) {}

  async push(job: NewJob): Promise<PushResult> {
    return (await this.pushMany([job]))[0]!;
  }

  async pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> {
    if (jobs.length === 0) return [];
    const uid = randomBytes(12).toString('hex');
    const rows: OutboxJob[] = jobs.map(({ name, queue, payload, scheduledAt, overlapKey }) => ({ name, queue, payload, scheduledAt, overlapKey }));
    await this.connection.execute(compile(this.dialect, this.knex(this.table).insert({ uid, jobs: JSON.stringify(rows), n: rows.length, created_at: this.now() })));
    if (this.dialect === 'pg') await this.connection.execute(compile(this.dialect, this.knex.select(this.knex.raw('pg_notify(?, ?)', [OUTBOX_CHANNEL, ''])) as unknown as Knex.QueryBuilder));
    return jobs.map((_, i) => ({ id: `outbox:${uid}.${i}` }));
  }

  casRecord(): Promise<boolean> {
    throw new UsageError('withTransaction(): chains and batches cannot go through the outbox yet (the job store is not the app\'s database): '
      + 'dispatch them with .afterCommit(trx), or make the job store the app\'s database (driver: \'database\')');
  }
}
