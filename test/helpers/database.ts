/**
 * A migrated jobs database of each kind for a test file: SQLite in a temp folder, or fresh
 * tables with unique names on MariaDB / PostgreSQL, created by the migration `job:table` writes.
 */
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/drivers/database/database-connection.ts';
import { DatabaseDriver } from '../../src/drivers/database/database.ts';
import { jobTablesMigration, migrationSource } from '../../src/drivers/database/migrations.ts';
import type { Clock } from '../../src/infra/clock.ts';
import { requireDatabase, uniqueName, type DatabaseKind } from './servers.ts';

export interface TestDatabase {
  kind: DatabaseKind;
  url: string;
  table: string;
  failedTable: string;
  dir: string;
  knex: Knex;
  driver(clock: Clock): DatabaseDriver;
  drop(): Promise<void>;
}

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-db-'));
  const url = kind === 'sqlite' ? `sqlite:${path.join(dir, 'jobs.sqlite')}` : await requireDatabase(kind);
  const table = uniqueName('jobs');
  const failedTable = `${table}_failed`;
  const migrations = path.join(dir, 'migrations');
  mkdirSync(migrations);
  writeFileSync(path.join(migrations, `20260101000000_create_${table}_table.ts`), jobTablesMigration(table, failedTable));
  const knex = createKnex(url, dir);
  await knex.migrate.latest({ migrationSource: migrationSource(migrations), tableName: `${table}_migrations` });
  const drivers: DatabaseDriver[] = [];
  return {
    kind, url, table, failedTable, dir, knex,
    driver(clock) {
      const driver = new DatabaseDriver(createKnex(url, dir, { queue: true }), { table, failedTable }, clock);
      drivers.push(driver);
      return driver;
    },
    async drop() {
      await Promise.all(drivers.map((d) => d.close().catch(() => undefined)));
      for (const suffix of ['records', 'metrics', 'workers', 'paused', 'signals']) await knex.schema.dropTableIfExists(`${table}_${suffix}`);
      await knex.schema.dropTableIfExists(failedTable);
      await knex.schema.dropTableIfExists(table);
      await knex.schema.dropTableIfExists(`${table}_migrations`);
      await knex.schema.dropTableIfExists(`${table}_migrations_lock`);
      await knex.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
