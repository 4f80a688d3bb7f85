/**
 * The `database` driver (knex): SQLite through better-sqlite3 (the embedded default),
 * MySQL/MariaDB through mysql2, PostgreSQL through pg.
 *
 * Claims are one atomic step per queue: `UPDATE ... RETURNING` over a `LIMIT`ed sub-select on
 * SQLite (one writer at a time), the same with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and a
 * short READ COMMITTED transaction of `SELECT ... FOR UPDATE SKIP LOCKED` + `UPDATE` on MySQL
 * (SKIP LOCKED where the server has it), sent in two round trips; there a claim starts after the
 * last job the claim before it took (see claimOldest). Deadlocks, lock-wait timeouts,
 * serialization failures and SQLITE_BUSY are retried here and never reach a job. Times are
 * epoch-ms integers (UTC).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock } from '../clock.ts';
import { ConnectionError, RakitError, UsageError } from '../errors.ts';
import type {
  Driver, FailedJob, FailedStore, ClearableQueue, Failure, Leases, NewJob, PushResult, QueueStats,
  ReleaseOptions, ReserveRequest, ReservedJob, RetryResult,
} from '../driver.ts';
import { batchesBy, leaseFor } from '../driver.ts';
import { databaseError, describeConnection, sqlErrorCode } from './database-connection.ts';

export interface TableNames {
  table: string;
  failedTable: string;
}

type Dialect = 'sqlite' | 'mysql' | 'pg';

interface JobRow {
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

/** How long claims may start after the last one's cursor before one looks from the start again. */
const FULL_SCAN_MS = 1000;

/** Where a claim stopped: the last job it took, in claim order, and when a claim last looked from the start. */
interface Cursor {
  scheduledAt: number;
  id: number;
  scannedAt: number;
}

/** Ids per statement of an ackMany (bound parameters have limits: 999 on old SQLite). */
const ACK_CHUNK = 500;
/** An ackMany DELETE took fewer rows than asked: roll back and find out which. */
const PARTIAL = Symbol('partial ack');

const RETRYABLE = new Set([
  'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', '40P01', '40001', '55P03',
  'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED',
]);
const DUPLICATE = new Set(['ER_DUP_ENTRY', '23505', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const MISSING_TABLE = new Set(['ER_NO_SUCH_TABLE', '42P01']);

export class DatabaseDriver implements Driver, FailedStore, ClearableQueue {
  readonly description: string;
  private readonly dialect: Dialect;
  private skipLocked = false;
  /** DELETE ... RETURNING says which rows went: PostgreSQL and MariaDB (not MySQL). */
  private deleteReturns = false;
  private ready: Promise<void> | null = null;
  /** Per queue (null: all of them), where the last claim stopped (see claimOldest). */
  private readonly cursors = new Map<string | null, Cursor>();

  constructor(
    private readonly knex: Knex,
    private readonly names: TableNames,
    private readonly clock: Clock,
  ) {
    const client = String(knex.client.config.client);
    this.dialect = client.includes('sqlite') ? 'sqlite' : client.startsWith('mysql') ? 'mysql' : 'pg';
    this.description = `database (${describeConnection(knex.client.config)})`;
  }

  /** Checks the server answers and the tables exist, once, with errors a user can act on. */
  private open(): Promise<void> {
    this.ready ??= (async () => {
      try {
        if (this.dialect === 'mysql') {
          const [rows] = (await this.knex.raw('SELECT VERSION() AS v')) as [{ v: string }[]];
          this.skipLocked = supportsSkipLocked(rows[0]?.v ?? '');
          this.deleteReturns = /mariadb/i.test(rows[0]?.v ?? '');
        } else {
          await this.knex.raw('SELECT 1');
          this.skipLocked = this.deleteReturns = this.dialect === 'pg';
        }
      } catch (error) {
        this.ready = null;
        throw new ConnectionError(
          `Cannot reach the database at ${describeConnection(this.knex.client.config)}: ` +
            `${(error as Error).message} — start the server or fix DATABASE_URL / application/config/job.ts`,
          { cause: error },
        );
      }
      for (const table of [this.names.table, this.names.failedTable, this.signals]) {
        if (!(await this.knex.schema.hasTable(table))) {
          this.ready = null;
          throw new MissingTablesError(table);
        }
      }
    })();
    return this.ready;
  }

  /**
   * Runs a statement, retrying deadlocks and busy errors; maps a missing table to advice, and any
   * other failure to a DatabaseError that names the operation and code, never the SQL or values.
   */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    await this.open();
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const code = sqlErrorCode(error);
        if (MISSING_TABLE.has(code) || /no such table/i.test((error as Error).message ?? '')) {
          this.ready = null;
          throw new MissingTablesError(this.names.table, { cause: error });
        }
        if (!RETRYABLE.has(code) || attempt >= 50) throw error instanceof Error && !(error instanceof RakitError) ? databaseError(error) : error;
        await new Promise((r) => setTimeout(r, Math.min(200, 2 ** Math.min(attempt, 7)) * Math.random()));
      }
    }
  }

  async push(job: NewJob): Promise<PushResult> {
    const now = this.clock.now();
    const row = {
      name: job.name, queue: job.queue, payloads: job.payload,
      without_overlapping: job.overlapKey !== null, overlap_key: job.overlapKey,
      attempts: 0, scheduled_at: job.scheduledAt, created_at: now, updated_at: now,
    };
    return this.run(async () => {
      for (let i = 0; i < 5; i++) {
        try {
          return { id: await this.insertJob(this.knex, row) };
        } catch (error) {
          if (job.overlapKey === null || !DUPLICATE.has(sqlErrorCode(error))) throw error;
          const holder = await this.knex(this.names.table).select('id').where('overlap_key', job.overlapKey).first();
          // The holder may finish between our insert and this read: then try the insert again.
          if (holder) return { skipped: 'overlapping', existingId: String(holder.id) };
        }
      }
      return { skipped: 'overlapping', existingId: null };
    });
  }

  private async insertJob(db: Knex | Knex.Transaction, row: Record<string, unknown>): Promise<string> {
    if (this.dialect === 'mysql') {
      const [id] = await db(this.names.table).insert(row);
      return String(id);
    }
    const [inserted] = (await db(this.names.table).insert(row).returning('id')) as { id: number | string }[];
    return String(inserted!.id);
  }

  async reserve(request: ReserveRequest): Promise<ReservedJob[]> {
    if (request.limit <= 0) return [];
    const queues: (string | null)[] = request.queues ? [...request.queues] : [null];
    const claimed: ReservedJob[] = [];
    for (const queue of queues) {
      const want = request.limit - claimed.length;
      if (want <= 0) break;
      claimed.push(...(await this.claimOldest(queue, request.names, want, request.leases)));
    }
    return claimed;
  }

  /**
   * Claims up to `limit` due jobs of one queue (or all), oldest first. On MySQL/MariaDB a claim
   * starts after the last job the one before it took: InnoDB keeps the rows acked behind that
   * point in the index, marked deleted, until its purge removes them, which on a busy server lags
   * thousands of rows behind, and a claim from the start walks them all (2 ms a claim of 50 at
   * 20,000 jobs). A claim that finds fewer jobs there than it wants, and the first one after
   * FULL_SCAN_MS, looks from the start: a job due behind the cursor (its lease ran out, or a clock
   * behind ours set its time) waits that long at most, and a free slot is never left empty while
   * a job is due. PostgreSQL marks dead index entries on the first scan that meets them, and
   * SQLite deletes at once, so there every claim looks from the start.
   */
  private async claimOldest(queue: string | null, names: readonly string[] | null, limit: number, leases: Leases): Promise<ReservedJob[]> {
    const now = this.clock.now();
    const cursor = this.dialect === 'mysql' ? this.cursors.get(queue) : undefined;
    const claimed = cursor && now - cursor.scannedAt < FULL_SCAN_MS
      ? await this.run(() => this.claim(queue, names, limit, leases, cursor))
      : [];
    const scanned = claimed.length < limit;
    if (scanned) claimed.push(...(await this.run(() => this.claim(queue, names, limit - claimed.length, leases, null))));
    claimed.sort(compareDue);
    const last = claimed.at(-1);
    if (this.dialect === 'mysql') {
      if (last) this.cursors.set(queue, { scheduledAt: last.scheduledAt, id: Number(last.id), scannedAt: scanned ? now : cursor!.scannedAt });
      else this.cursors.delete(queue);
    }
    return claimed;
  }

  /** Selects due jobs of one queue (or all) oldest first, after `after` if given, and claims them in one atomic step. */
  private async claim(queue: string | null, names: readonly string[] | null, limit: number, leases: Leases, after: Cursor | null) {
    const now = this.clock.now();
    const token = randomUUID();
    const oldestDue = (q: Knex.QueryBuilder) => {
      this.whereDue(q, now);
      if (queue !== null) q.andWhere('queue', queue);
      if (names) q.whereIn('name', names);
      if (after) {
        // A range on the index's first column, which every planner uses, and the exact bound.
        q.andWhere('scheduled_at', '>=', after.scheduledAt)
          .andWhere((w) => w.where('scheduled_at', '>', after.scheduledAt).orWhere('id', '>', after.id));
      }
      return q.orderBy([{ column: 'scheduled_at' }, { column: 'id' }]).limit(limit);
    };
    if (this.dialect === 'mysql') return this.claimOnMysql(oldestDue(this.knex.select('*')), now, token, leases);
    const ids = oldestDue(this.knex.select('id'));
    if (this.dialect === 'pg') ids.forUpdate().skipLocked();
    const rows = (await this.knex(this.names.table)
      .whereIn('id', ids)
      .update({
        attempts: this.knex.raw('attempts + 1'),
        reserved_by: token,
        reserved_until: leaseCase(this.knex, leases, now),
        updated_at: now,
      })
      .returning('*')) as JobRow[];
    return rows.map(toReserved);
  }

  /**
   * The MySQL/MariaDB claim: a READ COMMITTED transaction of `SELECT ... FOR UPDATE SKIP LOCKED`
   * and `UPDATE`, sent in two round trips instead of four on one pooled connection (queue
   * connections take several statements per query): `START TRANSACTION` with the SELECT, then
   * the UPDATEs with `COMMIT`. Any error rolls the transaction back before the connection goes
   * back to the pool.
   */
  private async claimOnMysql(due: Knex.QueryBuilder, now: number, token: string, leases: Leases): Promise<ReservedJob[]> {
    const select = (this.skipLocked ? due.forUpdate().skipLocked() : due.forUpdate()).toSQL();
    const conn = (await this.knex.client.acquireConnection()) as MysqlConnection;
    try {
      const [, rows] = (await query(conn, `START TRANSACTION; ${select.sql}`, select.bindings)) as [unknown, JobRow[]];
      if (rows.length === 0) {
        await query(conn, 'COMMIT');
        return [];
      }
      const claimed = rows.map((row) =>
        toReserved({ ...row, attempts: Number(row.attempts) + 1, reserved_by: token, reserved_until: now + leaseFor(leases, row.name) }));
      // One UPDATE per lease end (jobs of names with their own timeout end their lease apart).
      const byLease = new Map<number, string[]>();
      for (const job of claimed) {
        const ids = byLease.get(job.reservedUntil);
        if (ids) ids.push(job.id);
        else byLease.set(job.reservedUntil, [job.id]);
      }
      const updates = [...byLease].map(([until, ids]) => this.knex(this.names.table).whereIn('id', ids).update({
        attempts: this.knex.raw('attempts + 1'), reserved_by: token, reserved_until: until, updated_at: now,
      }).toSQL());
      await query(conn, `${updates.map((u) => u.sql).join('; ')}; COMMIT`, updates.flatMap((u) => u.bindings));
      return claimed;
    } catch (error) {
      await query(conn, 'ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await this.knex.client.releaseConnection(conn);
    }
  }

  async ack(job: ReservedJob): Promise<boolean> {
    return this.run(async () =>
      (await this.knex(this.names.table).where({ id: job.id, reserved_by: job.token }).delete()) === 1);
  }

  /**
   * The acks of a batch in one step (one commit): a DELETE per claim token, of the rows that token
   * still holds. Where DELETE ... RETURNING exists (PostgreSQL, MariaDB) it tells which rows went.
   * Elsewhere a DELETE that takes every row asked for says it all; one that takes fewer is rolled
   * back and done again after a read of the rows the token holds (a locking read on MySQL), so each
   * job's answer is exact.
   */
  async ackMany(jobs: readonly ReservedJob[]): Promise<boolean[]> {
    const groups = batchesBy(jobs, (job) => job.token, ACK_CHUNK)
      .map(({ key, indexes }) => ({ token: key, ids: indexes.map((i) => jobs[i]!.id) }));
    const held = new Set<string>();
    const mine = (db: Knex | Knex.Transaction, { token, ids }: { token: string; ids: string[] }) =>
      db(this.names.table).where('reserved_by', token).whereIn('id', ids);
    const took = (token: string, ids: readonly (string | number)[]) => ids.forEach((id) => held.add(`${token} ${id}`));
    const deleteExactly = async (db: Knex | Knex.Transaction) => {
      for (const group of groups) {
        if (this.deleteReturns) {
          took(group.token, await this.deleteReturningIds(mine(db, group).delete(), db));
          continue;
        }
        const read = mine(db, group).select('id');
        const ids = ((await (this.dialect === 'mysql' ? read.forUpdate() : read)) as { id: string | number }[]).map((r) => r.id);
        if (ids.length > 0) await mine(db, group).whereIn('id', ids).delete();
        took(group.token, ids);
      }
    };
    await this.run(async () => {
      held.clear(); // a retried attempt starts over: what a rolled-back one took does not count
      if (this.deleteReturns) return groups.length === 1 ? deleteExactly(this.knex) : this.knex.transaction(deleteExactly);
      try {
        await this.knex.transaction(async (trx) => {
          for (const group of groups) {
            if ((await mine(trx, group).delete()) !== group.ids.length) throw PARTIAL;
            took(group.token, group.ids);
          }
        });
      } catch (error) {
        if (error !== PARTIAL) throw error;
        held.clear();
        await this.knex.transaction(deleteExactly);
      }
    });
    return jobs.map((job) => held.has(`${job.token} ${job.id}`));
  }

  /** Runs `remove`, a DELETE, and says which rows it took (PostgreSQL, MariaDB). */
  private async deleteReturningIds(remove: Knex.QueryBuilder, db: Knex | Knex.Transaction): Promise<(string | number)[]> {
    if (this.dialect === 'pg') return ((await remove.returning('id')) as { id: string }[]).map((r) => r.id);
    // knex compiles no RETURNING for MySQL dialects: MariaDB's is added to the DELETE it compiled.
    const { sql, bindings } = remove.toSQL();
    const [rows] = (await db.raw(`${sql} RETURNING id`, bindings)) as [{ id: number }[]];
    return rows.map((r) => r.id);
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
  private whereDue(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    return q.from(this.names.table)
      .where('scheduled_at', '<=', now)
      .andWhere((w) => w.whereNull('reserved_until').orWhere('reserved_until', '<=', now));
  }

  /** One indexed row at most, where `stats` would count every job. */
  async hasDue(queues: readonly string[] | null): Promise<boolean> {
    const now = this.clock.now();
    return this.run(async () => {
      const q = this.whereDue(this.knex.select('id'), now).limit(1);
      if (queues) q.whereIn('queue', queues);
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

  async listFailed(limit = 1000): Promise<FailedJob[]> {
    return this.run(async () => {
      const rows = await this.knex(this.names.failedTable).select('*').orderBy('id', 'asc').limit(limit);
      return rows.map((r: Record<string, unknown>) => ({
        id: String(r.id), jobId: String(r.job_id), name: String(r.name), queue: String(r.queue),
        payload: String(r.payloads), exception: String(r.exception), attempts: Number(r.attempts),
        overlapKey: (r.overlap_key as string | null) ?? null, failedAt: Number(r.failed_at),
      }));
    });
  }

  async retryFailed(ids: readonly string[] | 'all'): Promise<RetryResult> {
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    const wanted = ids === 'all'
      ? (await this.run(() => this.knex(this.names.failedTable).select('id').orderBy('id'))).map((r: { id: unknown }) => String(r.id))
      : [...ids];
    for (const failedId of wanted) {
      if (!isRowId(failedId)) {
        result.missing.push(failedId);
        continue;
      }
      const outcome = await this.run(() => this.knex.transaction(async (trx) => {
        const row = await trx(this.names.failedTable).where('id', failedId).first();
        if (!row) return 'missing' as const;
        const now = this.clock.now();
        try {
          const jobId = await this.insertJob(trx, {
            name: row.name, queue: row.queue, payloads: row.payloads,
            without_overlapping: row.overlap_key !== null, overlap_key: row.overlap_key,
            attempts: 0, scheduled_at: now, created_at: now, updated_at: now,
          });
          await trx(this.names.failedTable).where('id', failedId).delete();
          return { jobId };
        } catch (error) {
          if (DUPLICATE.has(sqlErrorCode(error))) return 'overlapping' as const;
          throw error;
        }
      }).catch((error: unknown) => {
        // PostgreSQL aborts the transaction on the duplicate; the rollback already happened.
        if (DUPLICATE.has(sqlErrorCode(error))) return 'overlapping' as const;
        throw error;
      }));
      if (outcome === 'missing') result.missing.push(failedId);
      else if (outcome === 'overlapping') result.overlapping.push(failedId);
      else result.retried.push({ failedId, jobId: outcome.jobId });
    }
    return result;
  }

  async forgetFailed(id: string): Promise<boolean> {
    if (!isRowId(id)) return false;
    return this.run(async () => (await this.knex(this.names.failedTable).where('id', id).delete()) > 0);
  }

  async flushFailed(olderThanMs: number | null): Promise<number> {
    return this.run(async () => {
      const q = this.knex(this.names.failedTable);
      if (olderThanMs !== null) q.where('failed_at', '<', olderThanMs);
      return Number(await q.delete());
    });
  }

  async restartRequestedAt(): Promise<number | null> {
    return this.run(async () => {
      const row = (await this.knex(this.signals).where({ name: 'restart' }).first('value')) as { value: unknown } | undefined;
      return row ? Number(row.value) : null;
    });
  }

  async requestRestart(at: number): Promise<void> {
    await this.run(() => this.knex(this.signals).insert({ name: 'restart', value: at }).onConflict('name').merge());
  }

  private get signals(): string {
    return `${this.names.table}_signals`;
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}

export class MissingTablesError extends UsageError {
  constructor(table: string, options?: { cause?: unknown }) {
    super(`Table "${table}" is missing: run \`rakit job:table && rakit migrate\``, options);
  }
}

/** `reserved_until` for a claim: now + the lease of each row's job name. */
function leaseCase(knex: Knex, leases: Leases, now: number): Knex.Raw {
  const entries = Object.entries(leases.byName).filter(([, ms]) => ms !== leases.defaultMs);
  if (entries.length === 0) return knex.raw('CAST(? AS BIGINT)', [now + leases.defaultMs]);
  const whens = entries.map(() => 'WHEN ? THEN CAST(? AS BIGINT)').join(' ');
  return knex.raw(`CASE name ${whens} ELSE CAST(? AS BIGINT) END`, [
    ...entries.flatMap(([name, ms]) => [name, now + ms]),
    now + leases.defaultMs,
  ]);
}

function toReserved(row: JobRow): ReservedJob {
  return {
    id: String(row.id), name: row.name, queue: row.queue, payload: row.payloads,
    attempts: Number(row.attempts), scheduledAt: Number(row.scheduled_at), createdAt: Number(row.created_at),
    overlapKey: row.overlap_key ?? null, token: String(row.reserved_by), reservedUntil: Number(row.reserved_until),
  };
}

/** Row ids are positive integers; anything else names no row (and must not reach a BIGINT column). */
function isRowId(id: string): boolean {
  return /^[1-9]\d{0,17}$/.test(id);
}

/** Claim order: due time, then id. */
function compareDue(a: ReservedJob, b: ReservedJob): number {
  return a.scheduledAt - b.scheduledAt || a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** MySQL ≥ 8.0.1 and MariaDB ≥ 10.6 have SKIP LOCKED. */
function supportsSkipLocked(version: string): boolean {
  const [major = 0, minor = 0] = version.split(/[.-]/).map(Number);
  if (/mariadb/i.test(version)) return major > 10 || (major === 10 && minor >= 6);
  return major >= 8;
}

/** A pooled mysql2 connection, as knex hands it out. */
interface MysqlConnection {
  query(sql: string, values: readonly unknown[], callback: (err: Error | null, results: unknown) => void): void;
}

/** Runs `sql` (one statement or several) on `conn`; several statements give one result each. */
function query(conn: MysqlConnection, sql: string, values: readonly unknown[] = []): Promise<unknown> {
  return new Promise((resolve, reject) => conn.query(sql, values, (err, results) => (err ? reject(err) : resolve(results))));
}
