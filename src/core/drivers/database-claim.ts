/**
 * The `database` driver's claim: due jobs of one queue (or of all, in one statement), oldest
 * first, taken in one atomic step: `UPDATE ... RETURNING` over a `LIMIT`ed sub-select on SQLite
 * (one writer at a time), the same with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and the
 * transaction of database-mysql-claim.ts on MySQL/MariaDB, where a claim starts after the last
 * job the claim before it took (see `claimDue`).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { claimToken, type Leases, type ReserveRequest, type ReservedJob } from '../driver.ts';
import { compareDue } from '../queue-policy.ts';
import { claimOnMysql, type Cursor } from './database-mysql-claim.ts';
import { toReserved, type JobRow, type SqlStore } from './database-sql.ts';

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
  async claimDue(queue: string | null, limit: number, request: ReserveRequest): Promise<ReservedJob[]> {
    const { store } = this;
    const { names, leases, paused = [], owner } = request;
    const now = store.clock.now();
    const cursor = store.dialect === 'mysql' ? this.cursors.get(queue) : undefined;
    const claimed = cursor && now - cursor.scannedAt < FULL_SCAN_MS
      ? await store.run(() => this.claim(queue, names, paused, limit, leases, cursor, owner))
      : [];
    const scanned = claimed.length < limit;
    if (scanned) claimed.push(...(await store.run(() => this.claim(queue, names, paused, limit - claimed.length, leases, null, owner))));
    claimed.sort(compareDue);
    const last = claimed.at(-1);
    if (store.dialect === 'mysql') {
      if (last) this.cursors.set(queue, { scheduledAt: last.scheduledAt, id: Number(last.id), scannedAt: scanned ? now : cursor!.scannedAt });
      else this.cursors.delete(queue);
    }
    return claimed;
  }

  /**
   * Selects due jobs of one queue (or of all but the paused ones) oldest first, after `after` if
   * given, and claims them in one atomic step.
   */
  private async claim(
    queue: string | null, names: readonly string[] | null, paused: readonly string[], limit: number, leases: Leases, after: Cursor | null, owner?: string,
  ): Promise<ReservedJob[]> {
    const { knex, dialect } = this.store;
    const now = this.store.clock.now();
    const token = claimToken(owner, randomUUID());
    const oldestDue = (q: Knex.QueryBuilder) => {
      this.store.whereDue(q, now);
      if (queue !== null) q.andWhere('queue', queue);
      // No clause at all when nothing is paused: the claim's plan stays the one it always was.
      else if (paused.length > 0) q.whereNotIn('queue', paused);
      if (names) q.whereIn('name', names);
      if (after) {
        // A range on the index's first column, which every planner uses, and the exact bound.
        q.andWhere('scheduled_at', '>=', after.scheduledAt)
          .andWhere((w) => w.where('scheduled_at', '>', after.scheduledAt).orWhere('id', '>', after.id));
      }
      return q.orderBy([{ column: 'scheduled_at' }, { column: 'id' }]).limit(limit);
    };
    if (dialect === 'mysql') return claimOnMysql(this.store, oldestDue(knex.select('*')), now, token, leases);
    const ids = oldestDue(knex.select('id'));
    if (dialect === 'pg') ids.forUpdate().skipLocked();
    const rows = (await knex(this.store.names.table)
      .whereIn('id', ids)
      .update({
        attempts: knex.raw('attempts + 1'),
        reserved_by: token,
        reserved_until: leaseCase(knex, leases, now),
        updated_at: now,
      })
      .returning('*')) as JobRow[];
    return rows.map(toReserved);
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
