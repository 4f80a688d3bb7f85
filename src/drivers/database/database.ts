/**
 * The `database` driver (knex): SQLite through better-sqlite3 (the embedded default),
 * MySQL/MariaDB through mysql2, PostgreSQL through pg. This file holds the driver and its simple
 * steps (push, ack, release, fail, counts); the claim is database-claim.ts (MySQL's in
 * database-mysql-claim.ts), batched acks database-acks.ts, the failed store database-failed.ts,
 * the Jobs and Locks pages database-admin-jobs.ts, the records database-records.ts, bulk push
 * database-bulk.ts and writing in an app's transaction database-transaction.ts. Deadlocks, lock-wait timeouts, serialization failures and SQLITE_BUSY are
 * retried here and never reach a job. Times are epoch-ms integers (UTC).
 */
import type { Knex } from 'knex';
import type { Clock } from '../../infra/clock.ts';
import { UsageError } from '../../infra/errors.ts';
import type {
  Backend, Failure, NewJob, PushResult, QueueStats, ReleaseOptions, ReserveRequest, ReservedJob,
} from '../../store/driver.ts';
import { QueueTurns, reserveInOrder, type ClaimsOldestFirst } from '../../store/claims/queue-policy.ts';
import { lanesPattern } from '../../store/job-view.ts';
import { ackMany } from './database-acks.ts';
import { combinedInserts, pushMany, type BulkSqlStore } from './database-bulk.ts';
import { DatabaseAdminJobs } from './database-admin-jobs.ts';
import { DatabaseClaims, RidingAcks } from './database-claim.ts';
import { describeConnection, sqlErrorCode } from './database-connection.ts';
import { DatabaseFailedStore } from './database-failed.ts';
import { supportsSkipLocked } from './database-mysql-claim.ts';
import { DatabaseRecords } from './database-records.ts';
import { DatabaseTransactions } from './database-transaction.ts';
import { DUPLICATE, dialectOf, distinctQueues, missingTable, runSql, type Dialect, type TableNames } from './database-sql.ts';
import { LazyOpen } from '../lazy-open.ts';
import { ForwardsToParts, type StoreParts } from '../store-parts.ts';

export type { TableNames } from './database-sql.ts';


export class DatabaseDriver extends ForwardsToParts implements Backend, BulkSqlStore, ClaimsOldestFirst {
  readonly description: string;
  readonly dialect: Dialect;
  skipLocked = false;
  deleteReturns = false;
  consecutiveIds = true;
  private readonly opened: LazyOpen;
  private readonly claims = new DatabaseClaims(this);
  private readonly turns: QueueTurns;
  /** Writing in an app's own transaction (database-transaction.ts). */
  readonly transactions = new DatabaseTransactions(this);
  /** Jobs without an overlap key dispatched while others are being written: one INSERT for them (database-bulk.ts). */
  private readonly combined = combinedInserts(this);
  protected readonly parts: StoreParts;

  constructor(
    readonly knex: Knex,
    readonly names: TableNames,
    readonly clock: Clock,
  ) {
    super();
    const jobs = new DatabaseAdminJobs(this);
    this.parts = { jobs, locks: jobs, failed: new DatabaseFailedStore(this), records: new DatabaseRecords(this) };
    this.dialect = dialectOf(knex);
    this.turns = new QueueTurns(this, () => clock.now());
    this.description = `database (${describeConnection(knex.client.config)})`;
    this.opened = new LazyOpen(() => this.connect(), {
      what: `reach the database at ${describeConnection(knex.client.config)}`,
      fix: 'start the server or fix DATABASE_URL / application/config/job.ts',
    });
  }

  /** Checks the server answers, learns what it can do, and checks the tables exist. */
  private async connect(): Promise<void> {
    if (this.dialect === 'mysql') {
      const [rows] = (await this.knex.raw('SELECT VERSION() AS v, @@innodb_autoinc_lock_mode AS m')) as [{ v: string; m: unknown }[]];
      this.skipLocked = supportsSkipLocked(rows[0]?.v ?? '');
      this.consecutiveIds = Number(rows[0]?.m) <= 1;
      this.deleteReturns = /mariadb/i.test(rows[0]?.v ?? '');
    } else {
      await this.knex.raw('SELECT 1');
      this.skipLocked = this.deleteReturns = this.dialect === 'pg';
    }
    const { table, failedTable } = this.names;
    for (const name of [table, failedTable, `${table}_records`]) {
      if (!(await this.knex.schema.hasTable(name))) throw new MissingTablesError(name);
    }
  }

  /**
   * Runs a statement, retrying deadlocks and busy errors; maps a missing table to advice, and any
   * other failure to a DatabaseError that names the operation and code, never the SQL or values.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.opened.open();
    return runSql(work, (error) => {
      if (!missingTable(error)) return null;
      this.opened.reset();
      return new MissingTablesError(this.names.table, { cause: error });
    });
  }

  async push(job: NewJob): Promise<PushResult> {
    const now = this.clock.now();
    const row = {
      name: job.name, queue: job.queue, payloads: job.payload,
      without_overlapping: job.overlapKey !== null, overlap_key: job.overlapKey,
      attempts: 0, scheduled_at: job.scheduledAt, created_at: now, updated_at: now,
    };
    if (job.overlapKey === null) return this.combined.push(row);
    return this.run(async () => {
      for (let i = 0; i < 5; i++) {
        try {
          return { id: await this.insertJob(this.knex, row) };
        } catch (error) {
          if (!DUPLICATE.has(sqlErrorCode(error))) throw error;
          const holder = await this.knex(this.names.table).select('id').where('overlap_key', job.overlapKey).first();
          // The holder may finish between our insert and this read: then try the insert again.
          if (holder) return { skipped: 'overlapping', existingId: String(holder.id) };
        }
      }
      return { skipped: 'overlapping', existingId: null };
    });
  }

  async insertJob(db: Knex | Knex.Transaction, row: Record<string, unknown>): Promise<string> {
    if (this.dialect === 'mysql') {
      const [id] = await db(this.names.table).insert(row);
      return String(id);
    }
    const [inserted] = (await db(this.names.table).insert(row).returning('id')) as { id: number | string }[];
    return String(inserted!.id);
  }

  reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    return reserveInOrder(this.claimer(null), request, this.turns);
  }

  /** How the claim policy claims here; the acks of `riding` go with the first statement. */
  private claimer(riding: RidingAcks | null): ClaimsOldestFirst {
    return {
      claimFrom: (queue, limit, r) => this.claims.claimDue(queue, limit, r, riding),
      claimOldest: (r) => this.claims.claimDue(null, r.limit, r, riding),
      // Several groups' lanes in one statement; MySQL selects before it updates, so claims them one by one.
      ...(this.dialect === 'mysql' ? {} : { claimLanes: (lanes: readonly { queue: string; limit: number }[], r: ReserveRequest) => this.claims.claimLanes(lanes, r, riding) }),
      release: (job, options) => this.release(job, options),
      queueNames: () => this.queueNames(),
    };
  }

  claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]> {
    return this.claims.claimDue(queue, limit, request);
  }

  /** Every queue holding a job, one index probe each (database-sql.ts). */
  queueNames(): Promise<string[]> {
    return this.run(() => distinctQueues(this));
  }

  /** Every queue, oldest due first, in one statement. */
  claimOldest(request: ReserveRequest): Promise<ReservedJob[]> {
    return this.claims.claimDue(null, request.limit, request);
  }

  async ack(job: ReservedJob): Promise<boolean> {
    return this.run(async () =>
      (await this.knex(this.names.table).where({ id: job.id, reserved_by: job.token }).delete()) === 1);
  }

  /** The acks of a batch in one commit (database-acks.ts). */
  ackMany(jobs: readonly ReservedJob[]): Promise<boolean[]> {
    return ackMany(this, jobs);
  }

  /**
   * The acks ride on the first claim statement (database-claim.ts): one round trip for both. Acks
   * no statement carried (none ran, or MySQL) are left to the caller (held undefined), which sends them.
   */
  async reserveAfterAcks(acks: readonly ReservedJob[], request: ReserveRequest): Promise<{ claimed: ReservedJob[]; held: (boolean | undefined)[] }> {
    const riding = new RidingAcks(acks);
    const claimed = await reserveInOrder(this.claimer(riding), request, this.turns);
    return { claimed, held: riding.held };
  }

  async release(job: ReservedJob, options: ReleaseOptions): Promise<boolean> {
    return this.run(async () =>
      (await this.knex(this.names.table).where({ id: job.id, reserved_by: job.token }).update({
        reserved_by: null,
        reserved_until: null,
        scheduled_at: options.at,
        updated_at: this.clock.now(),
        ...(options.countAttempt ? {} : { attempts: this.knex.raw('CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END') }),
      })) === 1);
  }

  /** One statement: every job under the owner's claims given back (the owner's id is letters and digits). */
  async releaseOwned(owner: string): Promise<number> {
    return this.run(async () => Number(await this.knex(this.names.table).where('reserved_by', 'like', `${owner}-%`).update({
      reserved_by: null,
      reserved_until: null,
      updated_at: this.clock.now(),
      attempts: this.knex.raw('CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END'),
    })));
  }

  async fail(job: ReservedJob, failure: Failure): Promise<boolean> {
    return this.run(() => this.knex.transaction(async (trx) => {
      const deleted = await trx(this.names.table).where({ id: job.id, reserved_by: job.token }).delete();
      if (deleted !== 1) return false;
      await trx(this.names.failedTable).insert({
        job_id: job.id, name: job.name, queue: job.queue, payloads: job.payload,
        exception: failure.exception, attempts: job.attempts, overlap_key: job.overlapKey,
        failed_at: this.clock.now(),
      });
      return true;
    }));
  }

  /** The jobs that a claim at `now` may take: due, and not held under a lease. */
  whereDue(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    return q.from(this.names.table)
      .where('scheduled_at', '<=', now)
      .andWhere((w) => w.whereNull('reserved_until').orWhere('reserved_until', '<=', now));
  }

  /** One indexed row at most, where `stats` would count every job. */
  async hasDue(queues: readonly string[] | null): Promise<boolean> {
    const now = this.clock.now();
    return this.run(async () => {
      const q = this.whereDue(this.knex.select('id'), now).limit(1);
      // A queue's groups' lanes (store/claims/lanes.ts) are its own.
      if (queues) q.where((w) => {
        w.whereIn('queue', queues);
        for (const queue of queues) w.orWhereRaw(`queue LIKE ? ESCAPE '!'`, [lanesPattern(queue)!]);
      });
      return (await q).length > 0;
    });
  }

  async stats(): Promise<QueueStats[]> {
    const now = this.clock.now();
    return this.run(async () => {
      const free = '(reserved_until IS NULL OR reserved_until <= ?)';
      const rows = (await this.knex(this.names.table)
        .select('queue')
        .select(this.knex.raw(`SUM(CASE WHEN ${free} AND scheduled_at <= ? THEN 1 ELSE 0 END) AS ready`, [now, now]))
        .select(this.knex.raw(`SUM(CASE WHEN ${free} AND scheduled_at > ? THEN 1 ELSE 0 END) AS scheduled`, [now, now]))
        .select(this.knex.raw('SUM(CASE WHEN reserved_until > ? THEN 1 ELSE 0 END) AS reserved', [now]))
        .groupBy('queue')) as { queue: string; ready: unknown; scheduled: unknown; reserved: unknown }[];
      const failed = (await this.knex(this.names.failedTable).select('queue').count({ n: '*' }).groupBy('queue')) as
        { queue: string; n: unknown }[];
      const byQueue = new Map<string, QueueStats>();
      const entry = (queue: string) => {
        let stats = byQueue.get(queue);
        if (!stats) byQueue.set(queue, (stats = { queue, ready: 0, scheduled: 0, reserved: 0, failed: 0 }));
        return stats;
      };
      for (const r of rows) Object.assign(entry(r.queue), { ready: Number(r.ready ?? 0), scheduled: Number(r.scheduled ?? 0), reserved: Number(r.reserved ?? 0) });
      for (const r of failed) entry(r.queue).failed = Number(r.n);
      return [...byQueue.values()].sort((a, b) => a.queue.localeCompare(b.queue));
    });
  }

  async clear(queue: string | null): Promise<number> {
    const now = this.clock.now();
    return this.run(async () => {
      const q = this.knex(this.names.table).where((w) => w.whereNull('reserved_until').orWhere('reserved_until', '<=', now));
      if (queue !== null) q.andWhere('queue', queue);
      return Number(await q.delete());
    });
  }

  /** Bulk push (record-store.ts), in database-bulk.ts. */
  pushMany(jobs: readonly NewJob[]): Promise<PushResult[]> { return pushMany(this, jobs); }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}

export class MissingTablesError extends UsageError {
  constructor(table: string, options?: { cause?: unknown }) {
    super(`Table "${table}" is missing: run \`rakit job:table && rakit migrate\``, options);
  }
}
