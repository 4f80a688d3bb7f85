/**
 * The `database` driver's claim on MySQL/MariaDB: a READ COMMITTED transaction of
 * `SELECT ... FOR UPDATE SKIP LOCKED` (SKIP LOCKED where the server has it) and `UPDATE`, sent in
 * two round trips instead of four on one pooled connection (queue connections take several
 * statements per query, see database-connection.ts): `START TRANSACTION` with the SELECT, then
 * the UPDATEs with `COMMIT`. The acks riding on the claim (MariaDB's `DELETE ... RETURNING`) go
 * in its first round trip. Any error rolls the transaction back before the connection goes back
 * to the pool.
 */
import type { Knex } from 'knex';
import { leaseFor, type Leases, type ReservedJob } from '../../store/driver.ts';
import { toReserved, type JobRow, type SqlStore, type Statement } from './database-sql.ts';

/** Where a claim stopped: the last job it took, in claim order. */
export interface Cursor {
  scheduledAt: number;
  id: number;
}

/**
 * Claims the rows `due` selects (oldest first, limited) for `token`, each under its name's lease,
 * after deleting the rows of `ack` (a DELETE ... RETURNING id) in the same transaction.
 */
export async function claimOnMysql(
  store: SqlStore, due: Knex.QueryBuilder, now: number, token: string, leases: Leases, ack: Statement | null,
): Promise<{ claimed: ReservedJob[]; acked: number[] }> {
  const { knex } = store;
  const select = (store.skipLocked ? due.forUpdate().skipLocked() : due.forUpdate()).toSQL();
  const conn = (await knex.client.acquireConnection()) as MysqlConnection;
  try {
    const first = ack ? `START TRANSACTION; ${ack.sql}; ${select.sql}` : `START TRANSACTION; ${select.sql}`;
    const results = (await query(conn, first, ack ? [...ack.bindings, ...select.bindings] : select.bindings)) as unknown[];
    const rows = results.at(-1) as JobRow[];
    const acked = ack ? (results[1] as { id: number }[]).map((row) => row.id) : [];
    if (rows.length === 0) {
      await query(conn, 'COMMIT');
      return { claimed: [], acked };
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
    const updates = [...byLease].map(([until, ids]) => knex(store.names.table).whereIn('id', ids).update({
      attempts: knex.raw('attempts + 1'), reserved_by: token, reserved_until: until, updated_at: now,
    }).toSQL());
    await query(conn, `${updates.map((u) => u.sql).join('; ')}; COMMIT`, updates.flatMap((u) => u.bindings));
    return { claimed, acked };
  } catch (error) {
    await query(conn, 'ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await knex.client.releaseConnection(conn);
  }
}

/** MySQL ≥ 8.0.1 and MariaDB ≥ 10.6 have SKIP LOCKED. */
export function supportsSkipLocked(version: string): boolean {
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
