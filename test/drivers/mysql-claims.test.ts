/**
 * InnoDB keeps the rows that acks deleted in its indexes, marked deleted, until its purge removes
 * them, and on a busy server the purge lags thousands of rows behind. A claim must not walk them
 * all (its cost would grow with the number of jobs done): it starts after the last job the claim
 * before it took.
 */
import mysql from 'mysql2/promise';
import { afterAll, expect, test } from 'vitest';
import { systemClock } from '../../src/infra/clock.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let db: TestDatabase | null = null;
afterAll(async () => db?.drop());

const LEASES = { defaultMs: 60_000, byName: {} };

test('MariaDB: a claim does not walk the rows acked before it while the purge lags', async () => {
  db = await createTestDatabase('mysql');
  const driver = db.driver(systemClock);
  for (let i = 0; i < 3000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, () =>
      driver.push({ name: 'Noop', queue: 'default', payload: '{}', scheduledAt: systemClock.now() - 1000, overlapKey: null })));
  }
  // An open snapshot holds the purge back, as a busy server's lag does: every row acked below
  // stays in the index, marked deleted.
  const snapshot = await mysql.createConnection(db.url);
  try {
    await snapshot.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await snapshot.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    for (let batch = 0; batch < 50; batch++) {
      const jobs = await driver.reserve({ queues: null, names: null, limit: 50, leases: LEASES });
      expect(jobs).toHaveLength(50);
      expect(await driver.ackMany(jobs)).toEqual(jobs.map(() => true));
    }
    // Page reads are counted for the whole server; other tests may add some, never take any away.
    const pageReads = async () => {
      const [rows] = (await snapshot.query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_read_requests'")) as unknown as [{ Value: string }[]];
      return Number(rows[0]!.Value);
    };
    const costs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = await pageReads();
      const jobs = await driver.reserve({ queues: null, names: null, limit: 50, leases: LEASES });
      costs.push((await pageReads()) - before);
      expect(jobs).toHaveLength(50);
      await driver.ackMany(jobs);
    }
    // Walking the 2,500 deleted rows reads more than 5,000 pages; a claim of 50 after them, some hundreds.
    expect(Math.min(...costs)).toBeLessThan(1500);
  } finally {
    await snapshot.end();
  }
}, 60_000);

test('MariaDB: a job whose lease lapsed behind the point claims start from runs within a second, while the queue stays busy', async () => {
  const clock = new TestClock();
  const driver = (db ??= await createTestDatabase('mysql')).driver(clock);
  const leases = { byName: { short: 500 }, defaultMs: 60_000 };
  const take = async () => (await driver.reserve({ queues: ['lapsed'], names: null, limit: 1, leases }))[0];
  const start = clock.now();
  await driver.push({ name: 'short', queue: 'lapsed', payload: '{}', scheduledAt: start, overlapKey: null });
  for (let i = 0; i < 20; i++) await driver.push({ name: 'Noop', queue: 'lapsed', payload: '{}', scheduledAt: start, overlapKey: null });
  expect((await take())?.name).toBe('short');
  expect((await take())?.name).toBe('Noop');
  clock.advance(600); // the lease of `short` lapsed
  let waited = 0;
  while ((await take())?.name !== 'short' && waited <= 1_000) {
    clock.advance(100);
    waited += 100;
  }
  expect(waited).toBeLessThanOrEqual(1_000);
});
