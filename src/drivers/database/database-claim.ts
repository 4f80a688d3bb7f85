/**
 * The `database` driver's claim: due jobs of one queue (or of all, in one statement), oldest
 * first, taken in one atomic step: `UPDATE ... RETURNING` over a `LIMIT`ed sub-select on SQLite
 * (one writer at a time), the same with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and the
 * transaction of database-mysql-claim.ts on MySQL/MariaDB, where a claim starts after the last
 * job the claim before it took (see `claimDue`). The worker's acks ride on its next claim
 * (`RidingAcks`): their DELETE goes in the claim's own statement on PostgreSQL (a CTE), in its
 * transaction on SQLite (one synchronous transaction on the connection) and in its first round
 * trip on MariaDB, so a job costs one round trip at concurrency 1.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { claimToken, type Leases, type ReserveRequest, type ReservedJob } from '../../store/driver.ts';
import { compareDue } from '../../store/claims/queue-policy.ts';
import { claimOnMysql, type Cursor } from './database-mysql-claim.ts';
import { toReserved, type JobRow, type SqlStore, type Statement } from './database-sql.ts';
import { batchesBy } from '../shared.ts';

/** Acks carried by the first claim statement that runs; `held` gets their answers (undefined: not carried). */
export class RidingAcks {
  readonly held: (boolean | undefined)[];
  private left: readonly ReservedJob[];

  constructor(readonly jobs: readonly ReservedJob[]) {
    this.held = new Array<boolean | undefined>(jobs.length);
    this.left = jobs;
  }

  /** The acks, to the first claim statement that asks: none after it. */
  take(): readonly ReservedJob[] {
    const taken = this.left;
    this.left = [];
    return taken;
  }

  /** The answers of a statement that carried the acks: the ids it deleted. */
  answer(deleted: readonly (string | number)[]): void {
    const gone = new Set(deleted.map(String));
    this.jobs.forEach((job, i) => (this.held[i] = gone.has(job.id)));
  }
}

/** Stand-ins for a lane's queue and limit in a pick built once for every lane (no queue or limit can be either). */
const LANE_MARK = '\u0000lane';
const LIMIT_MARK = 987_654_321;

/** How long claims may start after the last one's cursor before one looks from the start again. */
const FULL_SCAN_MS = 1000;

export class DatabaseClaims {
  /** Per queue (null: all of them), where the last claim stopped (see claimDue). */
  private readonly cursors = new Map<string | null, Cursor & { scannedAt: number }>();

  constructor(private readonly store: SqlStore) {}

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
  async claimDue(queue: string | null, limit: number, request: ReserveRequest, riding: RidingAcks | null = null): Promise<ReservedJob[]> {
    const { store } = this;
    const { names, leases, paused = [], owner } = request;
    const now = store.clock.now();
    const cursor = store.dialect === 'mysql' ? this.cursors.get(queue) : undefined;
    // MySQL has no DELETE ... RETURNING to tell which acks held: its acks go on their own.
    const carry = () => (riding && (store.dialect !== 'mysql' || store.deleteReturns) ? riding.take() : []);
    const claimed = cursor && now - cursor.scannedAt < FULL_SCAN_MS
      ? await this.claimCarrying(queue, names, paused, limit, leases, cursor, carry(), riding, owner)
      : [];
    const scanned = claimed.length < limit;
    if (scanned) claimed.push(...(await this.claimCarrying(queue, names, paused, limit - claimed.length, leases, null, carry(), riding, owner)));
    claimed.sort(compareDue);
    const last = claimed.at(-1);
    if (store.dialect === 'mysql') {
      if (last) this.cursors.set(queue, { scheduledAt: last.scheduledAt, id: Number(last.id), scannedAt: scanned ? now : cursor!.scannedAt });
      else this.cursors.delete(queue);
    }
    return claimed;
  }

  /**
   * Claims from several queues (a queue's groups' lanes, store/claims/lane-turns.ts) in one
   * statement: up to `limit` due jobs of each, oldest first, each lane's pick a subquery of its own.
   * Not on MySQL, whose claim selects before it updates: there the lanes are claimed one by one.
   */
  async claimLanes(lanes: readonly { queue: string; limit: number }[], request: ReserveRequest, riding: RidingAcks | null = null): Promise<ReservedJob[]> {
    const total = lanes.reduce((n, lane) => n + lane.limit, 0);
    const claimed = await this.claimCarrying(null, request.names, [], total, request.leases, null, riding ? riding.take() : [], riding, request.owner, lanes);
    return claimed.sort(compareDue);
  }

  /** One claim, retried through deadlocks, with `acks` deleted in its step; their answers go to `riding`. */
  private async claimCarrying(
    queue: string | null, names: readonly string[] | null, paused: readonly string[], limit: number, leases: Leases, after: Cursor | null,
    acks: readonly ReservedJob[], riding: RidingAcks | null, owner?: string, lanes?: readonly { queue: string; limit: number }[],
  ): Promise<ReservedJob[]> {
    const { claimed, acked } = await this.store.run(() => this.claim(queue, names, paused, limit, leases, after, acks, owner, lanes));
    if (acks.length > 0) riding!.answer(acked);
    return claimed;
  }

  /**
   * Selects due jobs of one queue (or of all but the paused ones) oldest first, after `after` if
   * given, and claims them in one atomic step, deleting the rows of `acks` (held by their token)
   * in the same step: `acked` are the ids it deleted.
   */
  private async claim(
    queue: string | null, names: readonly string[] | null, paused: readonly string[], limit: number, leases: Leases, after: Cursor | null,
    acks: readonly ReservedJob[], owner?: string, lanes?: readonly { queue: string; limit: number }[],
  ): Promise<{ claimed: ReservedJob[]; acked: (string | number)[] }> {
    const { knex, dialect } = this.store;
    const now = this.store.clock.now();
    const token = claimToken(owner, randomUUID());
    const oldestDue = (q: Knex.QueryBuilder, one = queue, n = limit) => {
      this.store.whereDue(q, now);
      if (one !== null) q.andWhere('queue', one);
      // No clause at all when nothing is paused: the claim's plan stays the one it always was.
      else if (paused.length > 0) q.whereNotIn('queue', paused);
      if (names) q.whereIn('name', names);
      // A row being acked is never claimed again by the statement that deletes it.
      if (acks.length > 0) q.whereNotIn('id', acks.map((job) => job.id));
      if (after) {
        // A range on the index's first column, which every planner uses, and the exact bound.
        q.andWhere('scheduled_at', '>=', after.scheduledAt)
          .andWhere((w) => w.where('scheduled_at', '>', after.scheduledAt).orWhere('id', '>', after.id));
      }
      return q.orderBy([{ column: 'scheduled_at' }, { column: 'id' }]).limit(n);
    };
    /** The ids to claim: one queue's oldest, or each lane's (its own subquery, locked on PostgreSQL). */
    const picked = () => {
      if (!lanes) {
        const ids = oldestDue(knex.select('id'));
        return dialect === 'pg' ? ids.forUpdate().skipLocked() : ids;
      }
      if (dialect === 'pg') {
        // One pick, planned once, run for each lane (LATERAL over the lanes and their limits): a
        // UNION of a pick per lane cost PostgreSQL more to plan than to run. knex puts the LIMIT's
        // binding last (FOR UPDATE has none): each lane's own limit takes its place.
        const one = oldestDue(knex.select('id').whereRaw('queue = rakit_lane.q'), null, 1).forUpdate().skipLocked().toSQL();
        const sql = one.sql.replace(/ limit \?/i, ' limit rakit_lane.n');
        return knex.raw(`SELECT picked.id FROM (VALUES ${lanes.map(() => '(CAST(? AS TEXT), CAST(? AS INTEGER))').join(', ')}) AS rakit_lane(q, n) CROSS JOIN LATERAL (${sql}) AS picked`,
          [...lanes.flatMap((lane) => [lane.queue, lane.limit]), ...one.bindings.slice(0, -1)] as Knex.RawBinding[]);
      }
      // SQLite: a UNION ALL of the lanes' picks, each a subquery in FROM (no ORDER BY or LIMIT in a
      // UNION's member), built once and repeated with each lane's queue and limit in its bindings.
      const one = oldestDue(knex.select('id'), LANE_MARK, LIMIT_MARK).toSQL();
      return knex.raw(lanes.map(() => `SELECT id FROM (${one.sql}) AS lane`).join(' UNION ALL '),
        lanes.flatMap((lane) => one.bindings.map((b) => (b === LANE_MARK ? lane.queue : b === LIMIT_MARK ? lane.limit : b))) as Knex.RawBinding[]);
    };
    const ack = acks.length > 0 ? ackStatement(knex, this.store.names.table, acks) : null;
    if (dialect === 'mysql') return claimOnMysql(this.store, oldestDue(knex.select('*')), now, token, leases, ack);
    const ids = picked();
    const update = knex(this.store.names.table)
      .whereIn('id', ids as Knex.QueryBuilder)
      .update({
        attempts: knex.raw('attempts + 1'),
        reserved_by: token,
        reserved_until: leaseCase(knex, leases, now),
        updated_at: now,
      })
      .returning('*');
    if (!ack) return { claimed: ((await update) as JobRow[]).map(toReserved), acked: [] };
    return dialect === 'pg' ? claimOnPostgres(knex, ack, update.toSQL()) : claimOnSqlite(knex, ack, update.toSQL());
  }
}

/** DELETE ... RETURNING id of the rows of `acks` that their claim token still holds. */
function ackStatement(knex: Knex, table: string, acks: readonly ReservedJob[]): Statement {
  const held = knex(table).where((w) => {
    for (const { key, indexes } of batchesBy(acks, (job) => job.token, acks.length)) {
      w.orWhere((q) => q.where('reserved_by', key).whereIn('id', indexes.map((i) => acks[i]!.id)));
    }
  });
  const { sql, bindings } = held.delete().toSQL();
  return { sql: `${sql} RETURNING id`, bindings };
}

/**
 * PostgreSQL: the acks' DELETE and the claim's UPDATE in one statement; one row at least, the first
 * of which lists the acked ids in `rakit_acked` as one comma-separated string. Only the first row
 * carries it, and as text rather than an array: repeated on each of 50 claimed rows, a bigint
 * array cost the worker more CPU to parse than the rest of the claim.
 */
async function claimOnPostgres(knex: Knex, ack: Statement, update: Statement): Promise<{ claimed: ReservedJob[]; acked: string[] }> {
  const { rows } = (await knex.raw(
    `WITH acked AS (${ack.sql}), claimed AS (${update.sql}) SELECT CASE WHEN row_number() OVER () = 1 THEN (SELECT string_agg(id::text, ',') FROM acked) END AS rakit_acked, claimed.* FROM (SELECT 1) AS one LEFT JOIN claimed ON true`,
    [...ack.bindings, ...update.bindings] as Knex.RawBinding[],
  )) as { rows: (JobRow & { rakit_acked: string | null })[] };
  const acked = rows[0]?.rakit_acked;
  return { claimed: rows.filter((row) => row.id !== null).map(toReserved), acked: acked ? acked.split(',') : [] };
}

/** SQLite: the acks' DELETE and the claim's UPDATE in one transaction, run at once on the connection (one commit). */
async function claimOnSqlite(knex: Knex, ack: Statement, update: Statement): Promise<{ claimed: ReservedJob[]; acked: (string | number)[] }> {
  const db = (await knex.client.acquireConnection()) as SqliteConnection;
  try {
    return db.transaction(() => ({
      acked: (prepared(db, ack.sql).all(ack.bindings) as { id: number }[]).map((row) => row.id),
      claimed: (prepared(db, update.sql).all(update.bindings) as JobRow[]).map(toReserved),
    }))();
  } finally {
    await knex.client.releaseConnection(db);
  }
}

/**
 * The connection's statements, by their SQL: a claim's text differs only by how many acks and
 * lanes it carries, and preparing it again each time cost more than running it.
 */
const statements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();
const STATEMENTS_KEPT = 256;

function prepared(db: SqliteConnection, sql: string): SqliteStatement {
  let kept = statements.get(db);
  if (!kept) statements.set(db, (kept = new Map()));
  let statement = kept.get(sql);
  if (!statement) {
    if (kept.size >= STATEMENTS_KEPT) kept.clear();
    kept.set(sql, (statement = db.prepare(sql)));
  }
  return statement;
}

interface SqliteStatement {
  all(bindings: readonly unknown[]): unknown[];
}

/** A better-sqlite3 database, as knex hands it out. */
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  transaction<T>(work: () => T): () => T;
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
