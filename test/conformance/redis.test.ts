import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { FullDriver } from '../../src/store/driver.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { adminContract } from './admin-contract.ts';
import { driverContract } from './driver-contract.ts';
import { failedContract } from './failed-contract.ts';
import { batchContract } from './batch-contract.ts';
import { flowContract } from './flow-contract.ts';
import { limitContract } from './limit-contract.ts';
import { dedupContract } from './dedup-contract.ts';
import { groupContract } from './group-contract.ts';
import { TestClock } from '../helpers/clock.ts';
import { covers, dropClusterPrefix, dropRedisPrefix, requireCluster, requireRedis, uniqueName } from '../helpers/servers.ts';
import { allFailed } from '../helpers/failed.ts';

const targets: [string, () => Promise<string>, (url: string, prefix: string) => Promise<void>][] = [
  ['redis', () => requireRedis(), dropRedisPrefix],
  ['redis cluster (3 masters)', requireCluster, (_url, prefix) => dropClusterPrefix(prefix)],
];

for (const [label, reach, drop] of targets.filter(([label]) => covers(/cluster/i.test(label) ? 'cluster' : 'redis'))) {
  for (const contract of [driverContract, adminContract, failedContract, flowContract, batchContract, limitContract, dedupContract, groupContract]) contract(label, async () => {
    const url = await reach();
    const prefix = uniqueName('t');
    const drivers: FullDriver[] = [];
    return {
      driver(clock) {
        const driver = new RedisDriver(url, prefix, clock);
        drivers.push(driver);
        return driver;
      },
      async teardown() {
        await Promise.all(drivers.map((d) => d.close()));
        await drop(url, prefix);
      },
      serverClock: true,
    };
  });
}

/**
 * Jobs written by an earlier version (a job as a hash holding its attempts and claim token) must
 * still run after an upgrade: the ones waiting, and the ones a worker of that version held.
 */
describe('redis: jobs queued by an earlier version of the driver', () => {
  const LEASES = { byName: {}, defaultMs: 60_000 };
  const oldJob = async (raw: Redis, prefix: string, n: number, fields: Record<string, string | number>, zset: 'pending' | 'reserved', score: number) => {
    const m = String(n).padStart(12, '0');
    await raw.hset(`${prefix}:{default}:j:${m}`, { payload: '{"n":1}', attempts: 0, sched: score, created: 1000, okey: '', ...fields });
    await raw.zadd(`${prefix}:{default}:${zset}`, score, m);
    await raw.set(`${prefix}:{default}:seq`, n);
    await raw.sadd(`${prefix}:queues`, 'default');
  };

  it('claims, acks, retries, fails and clears them with their attempts', async () => {
    const url = await requireRedis();
    const prefix = uniqueName('old');
    const raw = new Redis(url);
    const clock = new TestClock();
    const driver = new RedisDriver(url, prefix, clock);
    try {
      const now = clock.now();
      await oldJob(raw, prefix, 1, { name: 'mail', attempts: 1, okey: 'k1' }, 'pending', now - 2000);
      await raw.hset(`${prefix}:{default}:overlap`, 'k1', '000000000001');
      await oldJob(raw, prefix, 2, { name: 'held', attempts: 1, token: 'old-token', until: now + 60_000 }, 'reserved', now + 60_000);
      await oldJob(raw, prefix, 3, { name: 'waiting' }, 'pending', now + 3_600_000);

      const [job] = await driver.reserve({ queues: ['default'], names: null, limit: 5, leases: LEASES });
      expect(job).toMatchObject({ id: 'default/1', name: 'mail', payload: '{"n":1}', attempts: 2, createdAt: 1000, overlapKey: 'k1', scheduledAt: now - 2000 });
      expect(await driver.release(job!, { at: now - 1, countAttempt: true })).toBe(true);
      const [again] = await driver.reserve({ queues: ['default'], names: null, limit: 5, leases: LEASES });
      expect(again).toMatchObject({ id: 'default/1', attempts: 3 });
      expect(await driver.fail(again!, { exception: 'Error: boom' })).toBe(true);
      expect(await allFailed(driver)).toMatchObject([{ id: 'default/1', name: 'mail', payload: '{"n":1}', attempts: 3, overlapKey: 'k1', exception: 'Error: boom' }]);
      expect(await raw.hexists(`${prefix}:{default}:overlap`, 'k1')).toBe(0);

      // The job an old worker held (restarted with the deploy): it comes back when its lease
      // lapses, with the attempt that worker counted; the old token no longer acks it.
      clock.advance(61_000);
      const [lapsed] = await driver.reserve({ queues: ['default'], names: null, limit: 5, leases: LEASES });
      expect(lapsed).toMatchObject({ id: 'default/2', name: 'held', payload: '{"n":1}', attempts: 2 });
      expect(await driver.ack({ ...lapsed!, token: 'old-token' })).toBe(false);
      expect(await driver.ack(lapsed!)).toBe(true);
      expect(await raw.exists(`${prefix}:{default}:j:000000000002`)).toBe(0);

      expect(await driver.clear('default')).toBe(1);
      expect(await driver.stats()).toEqual([{ queue: 'default', ready: 0, scheduled: 0, reserved: 0, failed: 1 }]);
      const [retried] = (await driver.retryFailed(['default/1'])).retried;
      const [back] = await driver.reserve({ queues: ['default'], names: null, limit: 5, leases: LEASES });
      expect(back).toMatchObject({ id: retried!.jobId, name: 'mail', payload: '{"n":1}', attempts: 1, overlapKey: 'k1' });
    } finally {
      raw.disconnect();
      await driver.close();
      await dropRedisPrefix(url, prefix);
    }
  });
});
