/**
 * The server-side half of a failed store requeue (database-failed.ts): failed rows without an
 * overlap key moved into the jobs table without their text passing through the process. On
 * PostgreSQL one statement per page deletes the failed rows, draws a job id for each in failed-id
 * order and inserts the jobs; on SQLite and MySQL/MariaDB (consecutive ids) the rows are locked,
 * copied by INSERT ... SELECT in failed-id order, whose ids follow that order, and deleted. Rows
 * with an overlap key are left to the caller, who checks the key's holder row by row.
 */
import type { Knex } from 'knex';
import { idsInOrder, type BulkSqlStore } from './database-bulk.ts';

/** Failed rows per statement: one page of the sweep (failed-view.ts PAGE_MAX), bound variables well under SQLite's limit. */
export const MOVE_CHUNK = 1_000;

const COPIED = 'name, queue, payloads, without_overlapping, overlap_key, attempts, scheduled_at, created_at, updated_at';

/**
 * Moves the failed rows of `ids` that hold no overlap key into the jobs table, due at `at`; the
 * new job id of each moved failed id. Rows another caller holds are waited for, then found gone.
 * Null: this server cannot say which id each row got in one INSERT (MySQL without consecutive ids).
 */
export async function moveFree(store: BulkSqlStore, trx: Knex.Transaction, ids: readonly string[], at: number): Promise<Map<string, string> | null> {
  const { names, clock, dialect } = store;
  const now = clock.now();
  const moved = new Map<string, string>();
  if (ids.length === 0) return moved;
  if (dialect === 'pg') {
    // `numbered` is read twice, so it is computed once: each row's drawn id is the one inserted.
    const { rows } = (await trx.raw(`WITH gone AS (
        DELETE FROM ?? WHERE id = ANY(?::bigint[]) AND overlap_key IS NULL RETURNING id, name, queue, payloads),
      numbered AS (
        SELECT g.id AS failed_id, nextval((SELECT pg_get_serial_sequence(?, 'id'))::regclass) AS job_id, g.name, g.queue, g.payloads
        FROM (SELECT * FROM gone ORDER BY id) AS g),
      made AS (
        INSERT INTO ?? (id, ${COPIED})
        SELECT job_id, name, queue, payloads, false, NULL, 0, ?::bigint, ?::bigint, ?::bigint FROM numbered)
      SELECT failed_id, job_id FROM numbered`,
    // An array binding would be spread into a list: the ids (digits only) go as one array literal.
    [names.failedTable, `{${ids.join(',')}}`, trx.raw('??', [names.table]).toQuery(), names.table, at, now, now])) as { rows: { failed_id: string | number; job_id: string | number }[] };
    for (const r of rows) moved.set(String(r.failed_id), String(r.job_id));
    return moved;
  }
  if (dialect === 'mysql' && !store.consecutiveIds) return null;
  // Locked (MySQL; SQLite's writer holds the database): a second caller waits, then finds them gone.
  const locked = trx(names.failedTable).select('id').whereIn('id', ids).whereNull('overlap_key').orderBy('id');
  const found = ((await (dialect === 'mysql' ? locked.forUpdate() : locked)) as { id: unknown }[]).map((r) => String(r.id));
  if (found.length === 0) return moved;
  // The new rows are written as push writes them (without_overlapping false, as 0 on these servers).
  const copy = `INSERT INTO ?? (${COPIED}) SELECT name, queue, payloads, 0, NULL, 0, ?, ?, ? FROM ?? WHERE id IN (${found.map(() => '?').join(', ')}) ORDER BY id`;
  const bindings = [names.table, at, now, now, names.failedTable, ...found];
  let jobIds: string[];
  if (dialect === 'mysql') {
    // One INSERT takes consecutive ids (innodb_autoinc_lock_mode 0 or 1), the first reported.
    const [result] = (await trx.raw(copy, bindings)) as [{ insertId: number; affectedRows: number }];
    if (result.affectedRows !== found.length) throw new Error(`Requeue copied ${result.affectedRows} of ${found.length} locked failed jobs`);
    jobIds = found.map((_, i) => String(result.insertId + i));
  } else {
    // SQLite numbers the rows as the SELECT gives them; RETURNING lists them in any order.
    jobIds = idsInOrder(((await trx.raw(`${copy} RETURNING id`, bindings)) as { id: number | string }[]).map((r) => r.id));
  }
  if (jobIds.length !== found.length) throw new Error(`Requeue copied ${jobIds.length} of ${found.length} locked failed jobs`);
  await trx(names.failedTable).whereIn('id', found).delete();
  found.forEach((id, i) => moved.set(id, jobIds[i]!));
  return moved;
}
