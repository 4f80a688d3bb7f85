/**
 * The `database` driver's batched acks: the acks of a batch in one step (one commit), each job
 * answered exactly (whether its claim token still held it).
 */
import type { Knex } from 'knex';
import type { ReservedJob } from '../../store/driver.ts';
import type { SqlStore } from './database-sql.ts';
import { batchesBy } from '../shared.ts';

/** Ids per statement of an ackMany (bound parameters have limits: 999 on old SQLite). */
const ACK_CHUNK = 500;
/** An ackMany DELETE took fewer rows than asked: roll back and find out which. */
const PARTIAL = Symbol('partial ack');

/**
 * A DELETE per claim token, of the rows that token still holds. Where DELETE ... RETURNING exists
 * (PostgreSQL, MariaDB) it tells which rows went. Elsewhere a DELETE that takes every row asked
 * for says it all; one that takes fewer is rolled back and done again after a read of the rows
 * the token holds (a locking read on MySQL), so each job's answer is exact.
 */
export async function ackMany(store: SqlStore, jobs: readonly ReservedJob[]): Promise<boolean[]> {
  const { knex, names, dialect } = store;
  const groups = batchesBy(jobs, (job) => job.token, ACK_CHUNK)
    .map(({ key, indexes }) => ({ token: key, ids: indexes.map((i) => jobs[i]!.id) }));
  const held = new Set<string>();
  const mine = (db: Knex | Knex.Transaction, { token, ids }: { token: string; ids: string[] }) =>
    db(names.table).where('reserved_by', token).whereIn('id', ids);
  const took = (token: string, ids: readonly (string | number)[]) => ids.forEach((id) => held.add(`${token} ${id}`));
  const deleteExactly = async (db: Knex | Knex.Transaction) => {
    for (const group of groups) {
      if (store.deleteReturns) {
        took(group.token, await deleteReturningIds(store, mine(db, group).delete(), db));
        continue;
      }
      const read = mine(db, group).select('id');
      const ids = ((await (dialect === 'mysql' ? read.forUpdate() : read)) as { id: string | number }[]).map((r) => r.id);
      if (ids.length > 0) await mine(db, group).whereIn('id', ids).delete();
      took(group.token, ids);
    }
  };
  await store.run(async () => {
    held.clear(); // a retried attempt starts over: what a rolled-back one took does not count
    if (store.deleteReturns) return groups.length === 1 ? deleteExactly(knex) : knex.transaction(deleteExactly);
    try {
      await knex.transaction(async (trx) => {
        for (const group of groups) {
          if ((await mine(trx, group).delete()) !== group.ids.length) throw PARTIAL;
          took(group.token, group.ids);
        }
      });
    } catch (error) {
      if (error !== PARTIAL) throw error;
      held.clear();
      await knex.transaction(deleteExactly);
    }
  });
  return jobs.map((job) => held.has(`${job.token} ${job.id}`));
}

/** Runs `remove`, a DELETE, and says which rows it took (PostgreSQL, MariaDB). */
async function deleteReturningIds(store: SqlStore, remove: Knex.QueryBuilder, db: Knex | Knex.Transaction): Promise<(string | number)[]> {
  if (store.dialect === 'pg') return ((await remove.returning('id')) as { id: string }[]).map((r) => r.id);
  // knex compiles no RETURNING for MySQL dialects: MariaDB's is added to the DELETE it compiled.
  const { sql, bindings } = remove.toSQL();
  const [rows] = (await db.raw(`${sql} RETURNING id`, bindings)) as [{ id: number }[]];
  return rows.map((r) => r.id);
}
