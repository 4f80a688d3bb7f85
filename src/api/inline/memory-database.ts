/**
 * The store behind the `sync` driver: the database driver on an SQLite database in memory, its
 * tables made from the same migration `rakit job:table` writes. It lives as long as the process
 * and is seen by no other process: jobs wait in it only for the dispatch that runs them.
 */
import type { Clock } from '../../infra/clock.ts';
import type { JobConfig } from '../../infra/config.ts';
import type { AdminDriver } from '../../store/driver.ts';
import { createKnex } from '../../drivers/database/database-connection.ts';
import { DatabaseDriver } from '../../drivers/database/database.ts';
import { jobTablesMigration } from '../../drivers/database/migrations.ts';

export async function memoryDatabase(config: JobConfig, clock: Clock): Promise<AdminDriver> {
  // One connection, kept: a second one, or a reaped one, would be another (empty) database.
  const knex = createKnex('sqlite::memory:', config.root, { queue: true });
  const migration: { up?: (k: typeof knex) => Promise<void> } = {};
  // The CommonJS text of the migration assigns exports.up; it is our own text, not the app's.
  new Function('exports', jobTablesMigration(config.table, config.failed_table, 'cjs'))(migration);
  await migration.up!(knex);
  return new DatabaseDriver(knex, { table: config.table, failedTable: config.failed_table }, clock);
}
