import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/core/drivers/database-connection.ts';
import { scheduleMigration } from '../../src/schedule/migration.ts';
import { DatabaseScheduleStore } from '../../src/schedule/stores/database.ts';
import { covers, requireDatabase, uniqueName, type DatabaseKind } from '../helpers/servers.ts';
import { storeContract } from './store-contract.ts';

/** Creates the scheduler's tables for `table` with the migration `rakit schedule:table` writes. */
export async function migrateSchedule(knex: Knex, table: string): Promise<() => Promise<void>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-migration-'));
  const file = path.join(dir, 'migration.ts');
  writeFileSync(file, scheduleMigration(table));
  const migration = (await import(file)) as { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> };
  rmSync(dir, { recursive: true, force: true });
  await migration.up(knex);
  return () => migration.down(knex);
}

const targets: [string, DatabaseKind][] = [['SQLite file', 'sqlite'], ['MariaDB', 'mysql'], ['PostgreSQL', 'pg']];

for (const [label, kind] of targets.filter(([, kind]) => covers(kind))) {
  storeContract(label, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-schedule-'));
    const url = kind === 'sqlite' ? `sqlite:${path.join(dir, 'schedule.sqlite')}` : await requireDatabase(kind);
    const table = uniqueName('sch');
    const admin = createKnex(url, dir);
    const down = await migrateSchedule(admin, table);
    return {
      config: { driver: 'database', database: url, table },
      store: (clock) => new DatabaseScheduleStore(createKnex(url, dir), table, clock),
      async teardown() {
        await down();
        await admin.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
