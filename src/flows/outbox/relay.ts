/**
 * The outbox relay: moves the jobs of committed outbox rows (outbox-table.ts) to the job store,
 * oldest row first, each row's jobs in order, in one transaction of the app's database per
 * step: rows read (locked on PostgreSQL and MySQL, skipped by another relay on PostgreSQL), their
 * jobs pushed, the rows deleted, committed. A relay killed after the push and before the commit
 * leaves the rows, which the next step pushes again: each job carries its row's mark, and one copy
 * runs (outbox-runs.ts). `job:runall` runs one (with `outbox: true`), `rakit job:relay` one alone.
 * It waits for rows on PostgreSQL's NOTIFY (the writer sends it at commit), elsewhere by a short poll.
 */
import type { Knex } from 'knex';
import type { Logger } from '../../infra/logger.ts';
import type { QueuePart } from '../../store/driver.ts';
import { addToFlow } from '../envelope.ts';
import { dialectOf, type Dialect } from '../../drivers/database/database-sql.ts';
import type { OutboxJob } from './outbox-table.ts';
import { OUTBOX_CHANNEL } from './outbox-writer.ts';

/** Rows moved in one step. */
const ROWS = 200;
/** How long the relay waits between looks when the outbox is empty, but for PostgreSQL's NOTIFY. */
export const POLL_MS = 20;
/** With NOTIFY, a look anyway this often (a notification lost with its connection). */
const NOTIFY_FALLBACK_MS = 1_000;
/** After a failed step (the database or the job store down), the next try. */
const RETRY_MS = 1_000;

interface Row {
  id: number | string;
  uid: string;
  jobs: string;
}

export class OutboxRelay {
  private readonly dialect: Dialect;
  private wake: (() => void) | null = null;
  /** A NOTIFY came since the last look began: look again at once. */
  private notified = false;

  constructor(
    private readonly knex: Knex,
    private readonly table: string,
    private readonly driver: Pick<QueuePart, 'pushMany'>,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
  ) {
    this.dialect = dialectOf(knex);
  }

  /** One step: up to ROWS committed rows moved; how many jobs were pushed. */
  async relayOnce(): Promise<number> {
    // A look without a transaction or a lock first: most looks find the outbox empty.
    if (!(await this.knex(this.table).first('id'))) return 0;
    return this.knex.transaction(async (trx) => {
      // SQLite: the write lock first (a no-op UPDATE), so the DELETE below cannot find that an app
      // committed since this transaction's first read (SQLITE_BUSY at once, no busy wait): the step
      // would fail and wait RETRY_MS, a second of lag, whenever the app writes.
      if (this.dialect === 'sqlite') await trx(this.table).where('id', -1).update({ n: 0 });
      let rows = trx(this.table).select('id', 'uid', 'jobs').orderBy('id').limit(ROWS);
      if (this.dialect === 'pg') rows = rows.forUpdate().skipLocked();
      else if (this.dialect === 'mysql') rows = rows.forUpdate();
      const taken = (await rows) as Row[];
      if (taken.length === 0) return 0;
      const jobs = taken.flatMap((row) => (JSON.parse(row.jobs) as OutboxJob[]).map((job, i) => ({ ...job, payload: addToFlow({ outbox: `${row.uid}.${i}` }, job.payload) })));
      const results = await this.driver.pushMany(jobs);
      results.forEach((result, i) => {
        if (result.skipped) this.logger.info({ job: jobs[i]!.name, queue: jobs[i]!.queue, existingId: result.existingId }, `Job skipped: ${jobs[i]!.name} is already pending or running (from the outbox)`);
      });
      await trx(this.table).whereIn('id', taken.map((row) => row.id)).delete();
      return jobs.length;
    });
  }

  /** Moves every committed row; how many jobs. */
  async drain(): Promise<number> {
    let moved = 0;
    for (let n = await this.relayOnce(); n > 0; n = await this.relayOnce()) moved += n;
    return moved;
  }

  /** Relays until `signal` aborts: at once while rows keep coming, else on NOTIFY or every POLL_MS. */
  async run(signal: AbortSignal): Promise<void> {
    const unlisten = this.dialect === 'pg' ? await this.listen().catch(() => null) : null;
    try {
      while (!signal.aborted) {
        let wait = 0;
        this.notified = false;
        try {
          if ((await this.relayOnce()) === 0) wait = unlisten ? NOTIFY_FALLBACK_MS : POLL_MS;
        } catch (error) {
          this.logger.warn({ err: error }, `Outbox relay: ${(error as Error).message}; trying again in ${RETRY_MS / 1000} s`);
          wait = RETRY_MS;
        }
        if (wait > 0) await this.sleep(wait, signal);
      }
    } finally {
      await unlisten?.();
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (this.notified) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.wake = done;
    });
  }

  /** LISTENs on a connection of its own; resolves with what lets it go. */
  private async listen(): Promise<() => Promise<void>> {
    type PgConnection = { query(sql: string): Promise<unknown>; on(event: 'notification', fn: () => void): void; removeAllListeners(event: string): void };
    const connection = (await this.knex.client.acquireConnection()) as PgConnection;
    connection.on('notification', () => {
      this.notified = true;
      this.wake?.();
    });
    await connection.query(`LISTEN ${OUTBOX_CHANNEL}`);
    return async () => {
      connection.removeAllListeners('notification');
      await connection.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => undefined);
      await this.knex.client.releaseConnection(connection);
    };
  }
}
