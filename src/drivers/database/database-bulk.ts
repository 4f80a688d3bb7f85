/**
 * The `database` driver's bulk push (BulkQueue in src/store/driver.ts): every job of the call
 * in one transaction, rows without an overlap key in multi-row INSERTs, each row with one in an
 * INSERT that gives way to the key's holder (ON CONFLICT DO NOTHING / INSERT IGNORE). Rows are
 * written in the order given, so ids, and the claim order of jobs due at one time, follow it.
 * Either all are stored or none (a deadlock retries the whole transaction).
 */
import type { Knex } from 'knex';
import type { NewJob, PushResult } from '../../store/driver.ts';
import type { SqlStore } from './database-sql.ts';

/** Rows per INSERT: well under SQLite's 32,766 bound variables at nine columns a row. */
const CHUNK = 500;

export interface BulkSqlStore extends SqlStore {
  /** A multi-row INSERT on MySQL gets consecutive ids (innodb_autoinc_lock_mode 0 or 1; known once open). */
  readonly consecutiveIds: boolean;
}

export async function pushMany(store: BulkSqlStore, jobs: readonly NewJob[]): Promise<PushResult[]> {
  if (jobs.length === 0) return [];
  const now = store.clock.now();
  const rows = jobs.map((job) => ({
    name: job.name, queue: job.queue, payloads: job.payload,
    without_overlapping: job.overlapKey !== null, overlap_key: job.overlapKey,
    attempts: 0, scheduled_at: job.scheduledAt, created_at: now, updated_at: now,
  }));
  return store.run(() => store.knex.transaction(async (trx) => {
    const results = new Array<PushResult>(jobs.length);
    let start = 0;
    const flush = async (end: number) => {
      for (let from = start; from < end; from += CHUNK) {
        const to = Math.min(end, from + CHUNK);
        const ids = await insertRows(store, trx, rows.slice(from, to));
        for (let i = from; i < to; i++) results[i] = { id: ids[i - from]! };
      }
      start = end;
    };
    for (let i = 0; i < rows.length; i++) {
      if (rows[i]!.overlap_key === null) continue;
      await flush(i);
      results[i] = await insertHolding(store, trx, rows[i]!);
      start = i + 1;
    }
    await flush(rows.length);
    return results;
  }));
}

/** Inserts rows without overlap keys; their ids in order. */
async function insertRows(store: BulkSqlStore, trx: Knex.Transaction, rows: Record<string, unknown>[]): Promise<string[]> {
  if (store.dialect === 'mysql') {
    if (!store.consecutiveIds) {
      const ids: string[] = [];
      for (const row of rows) ids.push(await store.insertJob(trx, row));
      return ids;
    }
    const [first] = (await trx(store.names.table).insert(rows)) as number[];
    return rows.map((_, i) => String(first! + i));
  }
  // One statement numbers its rows in the order of its VALUES; RETURNING may list them in any order.
  const inserted = (await trx(store.names.table).insert(rows).returning('id')) as { id: number | string }[];
  return inserted.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/** Inserts a row with an overlap key, or says which job holds the key. */
async function insertHolding(store: BulkSqlStore, trx: Knex.Transaction, row: Record<string, unknown>): Promise<PushResult> {
  const table = store.names.table;
  if (store.dialect === 'mysql') {
    const [id] = (await trx(table).insert(row).onConflict('overlap_key').ignore()) as number[];
    if (id) return { id: String(id) };
  } else {
    const [inserted] = (await trx(table).insert(row).onConflict('overlap_key').ignore().returning('id')) as { id: number | string }[];
    if (inserted) return { id: String(inserted.id) };
  }
  const holder = (await trx(table).where('overlap_key', row.overlap_key as string).first('id')) as { id: number | string } | undefined;
  return { skipped: 'overlapping', existingId: holder ? String(holder.id) : null };
}
