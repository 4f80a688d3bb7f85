/**
 * `rakit migrate` on a database made before paused queues, the restart signal, workers and
 * metrics moved into the records table: what they held is carried over (a paused queue stays
 * paused), the old tables are dropped, and a second run has nothing to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { TOTALS_MINUTE } from '../../src/store/admin-store.ts';
import { recordsUpgrade } from '../../src/drivers/database/database-upgrade.ts';
import { migrationSource } from '../../src/drivers/database/migrations.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { DATABASES } from '../helpers/servers.ts';
import path from 'node:path';

/** The four tables `rakit job:table` wrote beside the jobs, failed and records tables, as it wrote them. */
async function createLegacyTables(knex: Knex, table: string): Promise<void> {
  await knex.schema.createTable(`${table}_signals`, (t) => {
    t.string('name', 64).primary();
    t.bigInteger('value').notNullable();
  });
  await knex.schema.createTable(`${table}_paused`, (t) => {
    t.string('queue', 64).primary();
    t.bigInteger('paused_at').notNullable();
  });
  await knex.schema.createTable(`${table}_workers`, (t) => {
    t.string('id', 191).primary();
    t.string('host', 191).notNullable();
    t.integer('pid').notNullable();
    t.text('queues').nullable();
    t.text('running').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('beat_at').notNullable();
    t.bigInteger('done').notNullable().defaultTo(0);
    t.bigInteger('failed').notNullable().defaultTo(0);
    t.bigInteger('stopped_at').nullable();
    t.string('end', 16).nullable();
  });
  await knex.schema.createTable(`${table}_metrics`, (t) => {
    t.bigInteger('minute').notNullable();
    t.string('queue', 64).notNullable();
    t.string('name', 191).notNullable();
    for (const counter of ['done', 'failed', 'retried', 'runtime_ms', 'wait_ms']) t.bigInteger(counter).notNullable().defaultTo(0);
    for (let b = 0; b < 15; b++) t.bigInteger(`b${b}`).notNullable().defaultTo(0);
    t.primary(['minute', 'queue', 'name'], `${table}_metrics_pkey`);
  });
}

const buckets = (n: number) => Array.from({ length: 15 }, (_, b) => (b === 2 ? n : 0));

for (const kind of DATABASES) {
  describe(`upgrading a database made before the records held the admin state: ${kind}`, () => {
    let db: TestDatabase;
    const migrate = async () => {
      const source = migrationSource(path.join(db.dir, 'migrations'), [recordsUpgrade({ table: db.table, failedTable: db.failedTable })]);
      return (await db.knex.migrate.latest({ migrationSource: source, tableName: `${db.table}_migrations` })) as [number, string[]];
    };

    beforeAll(async () => {
      db = await createTestDatabase(kind);
      await createLegacyTables(db.knex, db.table);
      await db.knex(`${db.table}_paused`).insert([{ queue: 'mail', paused_at: 1 }, { queue: 'reports', paused_at: 2 }]);
      await db.knex(`${db.table}_signals`).insert({ name: 'restart', value: 1_700_000_000_123 });
      await db.knex(`${db.table}_workers`).insert({ id: 'web-1:42:1', host: 'web-1', pid: 42, queues: null, running: '[]', started_at: 1, beat_at: 1 });
      const row = (minute: number, done: number) => ({ minute, queue: 'default', name: 'send-email', done, failed: 1, retried: 0, runtime_ms: 30 * done, wait_ms: 5, ...Object.fromEntries(buckets(done).map((n, b) => [`b${b}`, n])) });
      await db.knex(`${db.table}_metrics`).insert([row(TOTALS_MINUTE, 9), row(1_800_000_000_000 - (1_800_000_000_000 % 60_000), 4)]);
    });
    afterAll(() => db?.drop());

    it('keeps paused queues paused, the last restart and the metrics, and drops the old tables', async () => {
      const [, names] = await migrate();
      expect(names).toEqual([`rakit_upgrade_${db.table}_state_to_records`]);
      const driver = db.driver(new TestClock());
      expect(await driver.pausedQueues()).toEqual(['mail', 'reports']);
      expect(await driver.restartRequestedAt()).toBe(1_700_000_000_123);
      const [totals] = await driver.readMetrics(TOTALS_MINUTE, TOTALS_MINUTE + 1);
      expect(totals).toMatchObject({ queue: 'default', name: 'send-email', done: 9, failed: 1, runtimeMs: 270, waitMs: 5, buckets: buckets(9) });
      const minute = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);
      expect(await driver.readMetrics(minute, minute + 60_000)).toMatchObject([{ minute, done: 4 }]);
      for (const suffix of ['paused', 'signals', 'workers', 'metrics']) expect(await db.knex.schema.hasTable(`${db.table}_${suffix}`)).toBe(false);
      // The queues and records tables stay as they were, and the upgraded store works on.
      await driver.resumeQueue('mail');
      expect(await driver.pausedQueues()).toEqual(['reports']);
    });

    it('has nothing to do the second time', async () => {
      const [, names] = await migrate();
      expect(names).toEqual([]);
    });
  });
}
