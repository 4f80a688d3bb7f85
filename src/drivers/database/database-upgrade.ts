/**
 * The upgrade `rakit migrate` runs after the app's own migrations, once: databases made before
 * paused queues, the restart signal, workers and metrics moved into the records table
 * (store-services.ts) get them carried over, and the tables that held them (`<table>_paused`,
 * `_signals`, `_workers`, `_metrics`) dropped. A paused queue stays paused, the last
 * `job:restart` and the metrics (all-time totals included) are kept; workers beat again within
 * seconds. A database made by today's `job:table` has none of those tables: nothing to do.
 * A second upgrade gives the failed table the indexes its newest-first pages read
 * (database-failed.ts), where `job:table` of an earlier version made only one on failed_at.
 */
import type { Knex } from 'knex';
import { RUNTIME_BUCKETS_MS, type MetricSample } from '../../store/admin-store.ts';
import { systemClock } from '../../infra/clock.ts';
import { DatabaseDriver } from './database.ts';
import type { TableNames } from './database-sql.ts';

/** The upgrade as a knex migration, named for the jobs table it upgrades. */
export function recordsUpgrade(names: TableNames): { name: string; migration: Knex.Migration } {
  return {
    name: `rakit_upgrade_${names.table}_state_to_records`,
    migration: {
      // Its steps go through the driver on the migrator's own connection, not a transaction of it.
      config: { transaction: false },
      up: (knex: Knex) => upgrade(knex, names),
      // The records stay; the old tables are not made again (nothing reads them).
      down: async () => undefined,
    } as Knex.Migration,
  };
}

async function upgrade(knex: Knex, names: TableNames): Promise<void> {
  const { table } = names;
  const has = (suffix: string) => knex.schema.hasTable(`${table}_${suffix}`);
  if (!(await knex.schema.hasTable(table)) || !(await has('records'))) return;
  const store = new DatabaseDriver(knex, names, systemClock);
  if (await has('paused')) {
    for (const row of (await knex(`${table}_paused`).select('queue')) as { queue: string }[]) await store.pauseQueue(row.queue);
  }
  if (await has('signals')) {
    const row = (await knex(`${table}_signals`).where('name', 'restart').first('value')) as { value: unknown } | undefined;
    if (row) await store.requestRestart(Number(row.value));
  }
  if (await has('metrics')) {
    const rows = (await knex(`${table}_metrics`).select('*')) as Record<string, unknown>[];
    const samples = rows.map((r): MetricSample => ({
      minute: Number(r.minute), queue: String(r.queue), name: String(r.name),
      done: Number(r.done), failed: Number(r.failed), retried: Number(r.retried), runtimeMs: Number(r.runtime_ms), waitMs: Number(r.wait_ms),
      buckets: Array.from({ length: RUNTIME_BUCKETS_MS.length + 1 }, (_, b) => Number(r[`b${b}`] ?? 0)),
    }));
    if (samples.length > 0) await store.addMetrics(samples);
  }
  for (const suffix of ['paused', 'signals', 'workers', 'metrics']) await knex.schema.dropTableIfExists(`${table}_${suffix}`);
}

/** The failed table's page indexes, as a knex migration named for the failed table. */
export function failedIndexesUpgrade(names: TableNames): { name: string; migration: Knex.Migration } {
  const { failedTable } = names;
  return {
    name: `rakit_upgrade_${failedTable}_page_indexes`,
    migration: {
      config: { transaction: false },
      up: async (knex: Knex) => {
        if (!(await knex.schema.hasTable(failedTable))) return;
        const made = await knex.schema.alterTable(failedTable, (t) => t.index(['queue', 'failed_at', 'id'], `${failedTable}_queue_failed`)).then(() => true, (error: unknown) => {
          if (/exist|duplicate/i.test(String(error))) return false; // made by today's job:table
          throw error;
        });
        if (!made) return;
        await knex.schema.alterTable(failedTable, (t) => t.dropIndex(['failed_at'], `${failedTable}_failed_at`)).catch(() => undefined);
        await knex.schema.alterTable(failedTable, (t) => t.index(['failed_at', 'id'], `${failedTable}_failed_at`));
      },
      down: async () => undefined,
    } as Knex.Migration,
  };
}
