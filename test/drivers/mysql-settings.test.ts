/**
 * The MySQL/MariaDB claim sends its transaction as two multi-statement queries, so the driver's
 * connections turn `multipleStatements` on whatever form the app's `database` setting takes: a
 * URL, or a knex config whose `connection` is an object, a URL or a function.
 */
import { afterAll, expect, test } from 'vitest';
import { systemClock } from '../../src/infra/clock.ts';
import { createKnex, type DatabaseSetting } from '../../src/drivers/database/database-connection.ts';
import { DatabaseDriver } from '../../src/drivers/database/database.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let db: TestDatabase | null = null;
afterAll(async () => db?.drop());

const LEASES = { defaultMs: 60_000, byName: {} };

test('MariaDB: claims work with the setting as a URL, and as knex config with an object, URL or function connection', async () => {
  db = await createTestDatabase('mysql');
  const url = new URL(db.url);
  const object = {
    host: url.hostname, port: Number(url.port), user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password), database: url.pathname.slice(1),
  };
  const settings: [string, DatabaseSetting][] = [
    ['URL', db.url],
    ['object', { client: 'mysql2', connection: object }],
    ['URL in knex config', { client: 'mysql2', connection: db.url }],
    ['function', { client: 'mysql2', connection: async () => object }],
  ];
  for (const [form, setting] of settings) {
    const driver = new DatabaseDriver(createKnex(setting, db.dir, { queue: true }), { table: db.table, failedTable: db.failedTable }, systemClock);
    try {
      for (let i = 0; i < 3; i++) {
        await driver.push({ name: 'Noop', queue: form, payload: `{"i":${i}}`, scheduledAt: systemClock.now() - 1000, overlapKey: null });
      }
      const jobs = await driver.reserve({ queues: [form], names: null, limit: 10, leases: LEASES });
      expect(jobs.map((j) => [j.payload, j.attempts]), form).toEqual([['{"i":0}', 1], ['{"i":1}', 1], ['{"i":2}', 1]]);
      expect(await driver.reserve({ queues: [form], names: null, limit: 10, leases: LEASES }), form).toEqual([]);
      expect(await driver.ackMany(jobs), form).toEqual([true, true, true]);
    } finally {
      await driver.close();
    }
  }
}, 60_000);
