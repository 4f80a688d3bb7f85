/**
 * PostgreSQL plans queries from statistics that autovacuum refreshes about once a minute. A burst
 * of dispatches into a table last analyzed when empty must not turn every claim and ack into a
 * scan of the whole queue (the cost of a claim would grow with the number of jobs waiting).
 */
import { afterAll, expect, test } from 'vitest';
import { systemClock } from '../../src/infra/clock.ts';
import { until } from '../helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let db: TestDatabase | null = null;
afterAll(async () => db?.drop());

const LEASES = { defaultMs: 60_000, byName: {} };

test('PostgreSQL: claims and acks walk indexes even when the statistics were taken on an empty table', async () => {
  db = await createTestDatabase('pg');
  await db.knex.raw('ANALYZE ??', [db.table]);
  const driver = db.driver(systemClock);
  for (let i = 0; i < 2000; i += 100) {
    await Promise.all(Array.from({ length: 100 }, () =>
      driver.push({ name: 'Noop', queue: 'default', payload: '{}', scheduledAt: systemClock.now() - 1000, overlapKey: null })));
  }
  let acked = 0;
  for (let batch = 0; batch < 10; batch++) {
    const jobs = await driver.reserve({ queues: null, names: null, limit: 50, leases: LEASES });
    expect(jobs).toHaveLength(50);
    acked += (await driver.ackMany!(jobs)).filter(Boolean).length;
    await driver.ack(jobs[0]!); // the single-job path too (already gone: false)
  }
  expect(acked).toBe(500);
  // A backend reports its table counters when it exits: close, then wait for the 500 deletes to show.
  await driver.close();
  const counters = async () => (await db!.knex('pg_stat_user_tables').where('relname', db!.table)
    .first('seq_scan', 'idx_scan', 'n_tup_del')) as { seq_scan: string; idx_scan: string; n_tup_del: string };
  // The first read that counts them is the one checked: this test's own connection reports its
  // own scans of the table (its migration's) at the end of a read, and a second read sees them.
  let seen!: Awaited<ReturnType<typeof counters>>;
  await until(async () => Number((seen = await counters()).n_tup_del) >= 500, {
    timeoutMs: 10_000, everyMs: 100, what: 'pg_stat_user_tables to count the 500 deletes',
  });
  expect(Number(seen.n_tup_del)).toBe(500);
  expect(Number(seen.idx_scan)).toBeGreaterThan(0);
  expect(Number(seen.seq_scan)).toBe(0);
  // Only the driver's connections: those of `rakit migrate` (and this test's own) keep the default.
  expect((await db.knex.raw('SHOW enable_seqscan')).rows).toEqual([{ enable_seqscan: 'on' }]);
}, 60_000);
