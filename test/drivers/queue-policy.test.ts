/**
 * A worker without --queue takes from every queue, oldest due first (SPEC §5), on every store:
 * whether the store claims across queues in one step (the database) or claim by claim, giving
 * back what it took beyond the oldest. A job given back is claimed later with its attempts as
 * they were, as if it had never been taken.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FullDriver, Leases } from '../../src/store/driver.ts';
import { FileDriver } from '../../src/drivers/file/file.ts';
import { MemcachedDriver } from '../../src/drivers/memcached/memcached.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase } from '../helpers/database.ts';
import {
  CLUSTER_URL, DATABASES, dropClusterPrefix, dropRedisPrefix, requireCluster, requireMemcached, requireRedis, uniqueName,
} from '../helpers/servers.ts';

type Open = (clock: TestClock) => Promise<{ driver: FullDriver; drop(): Promise<void> }>;

const STORES: [string, Open][] = [
  ...DATABASES.map((kind): [string, Open] => [kind, async (clock) => {
    const db = await createTestDatabase(kind);
    return { driver: db.driver(clock), drop: () => db.drop() };
  }]),
  ['redis', async (clock) => {
    const url = await requireRedis();
    const prefix = uniqueName('policy');
    const driver = new RedisDriver(url, prefix, clock);
    return { driver, drop: async () => {
      await driver.close();
      await dropRedisPrefix(url, prefix);
    } };
  }],
  ['redis cluster', async (clock) => {
    await requireCluster();
    const prefix = uniqueName('policy');
    const driver = new RedisDriver(CLUSTER_URL, prefix, clock);
    return { driver, drop: async () => {
      await driver.close();
      await dropClusterPrefix(prefix);
    } };
  }],
  ['file', async (clock) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-policy-'));
    const driver = new FileDriver(path.join(root, 'jobs'), clock);
    return { driver, drop: async () => {
      await driver.close();
      rmSync(root, { recursive: true, force: true });
    } };
  }],
  ['memcached', async (clock) => {
    const driver = new MemcachedDriver(await requireMemcached(), uniqueName('policy'), clock);
    return { driver, drop: () => driver.close() };
  }],
];

const LEASES: Leases = { byName: {}, defaultMs: 60_000 };

describe.each(STORES)('without --queue, every queue oldest due first: %s', (_label, open) => {
  it('takes the oldest due jobs across queues, and gives back the rest uncounted', async () => {
    const clock = new TestClock();
    const { driver, drop } = await open(clock);
    try {
      const t = clock.now() - 10_000;
      // Due times interleave across the queues; one job is not due yet.
      const due: [string, number][] = [['low', 1], ['high', 2], ['default', 3], ['low', 4], ['high', 5], ['default', 6]];
      for (const [queue, n] of due) await driver.push({ name: 'note', queue, payload: JSON.stringify({ n }), scheduledAt: t + n, overlapKey: null });
      await driver.push({ name: 'note', queue: 'high', payload: '{"n":0}', scheduledAt: clock.now() + 60_000, overlapKey: null });

      const take = async (limit: number) =>
        (await driver.reserve({ queues: null, names: null, limit, leases: LEASES })).map((j) => [(JSON.parse(j.payload) as { n: number }).n, j.attempts]);
      expect(await take(3)).toEqual([[1, 1], [2, 1], [3, 1]]);
      expect(await take(10)).toEqual([[4, 1], [5, 1], [6, 1]]);
      expect(await take(10)).toEqual([]);
    } finally {
      await drop();
    }
  });
});
