/**
 * The ack batcher on real stores: acks queued in one turn go out together (one ackMany on the
 * database driver), ride on the next claim where the driver can carry them (Redis), and each
 * resolves with whether the worker still held its job.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AckBatcher } from '../../src/worker/ack-batcher.ts';
import type { ReserveRequest, ReservedJob } from '../../src/store/driver.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

const request = (limit: number): ReserveRequest => ({ queues: null, names: null, limit, leases: { byName: {}, defaultMs: 60_000 } });
const job = (n: number) => ({ name: 'note', queue: 'default', payload: `{"n":${n}}`, scheduledAt: Date.now() - 1000, overlapKey: null });

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe('the ack batcher', () => {
  it('sends the acks of one turn in one ackMany call (database driver), each with whether the job was still held', async () => {
    const db: TestDatabase = await createTestDatabase('sqlite');
    cleanup = () => db.drop();
    const clock = new TestClock();
    const driver = db.driver(clock);
    for (let i = 0; i < 3; i++) await driver.push(job(i));
    const claimed = await driver.reserve(request(3));
    const calls: number[] = [];
    const ackMany = driver.ackMany.bind(driver);
    driver.ackMany = async (jobs: readonly ReservedJob[]) => {
      calls.push(jobs.length);
      return ackMany(jobs);
    };
    // The third one's lease was taken over: its ack must say so and change nothing.
    const stale = { ...claimed[2]!, token: 'not-ours' };
    const batcher = new AckBatcher(driver, clock);
    const held = await Promise.all([batcher.ack(claimed[0]!), batcher.ack(claimed[1]!), batcher.ack(stale)]);
    expect(held).toEqual([true, true, false]);
    expect(calls).toEqual([3]);
    expect((await driver.stats())[0]).toMatchObject({ reserved: 1 });
  });

  it('lets the acks ride on the next claim where the driver can carry them (Redis)', async () => {
    const url = await requireRedis();
    const prefix = uniqueName('batch');
    const clock = new TestClock();
    const driver = new RedisDriver(url, prefix, clock);
    cleanup = async () => {
      await driver.close();
      await dropRedisPrefix(url, prefix);
    };
    for (let i = 0; i < 4; i++) await driver.push(job(i));
    const first = await driver.reserve(request(2));
    let alone = 0;
    const ackMany = driver.ackMany.bind(driver);
    driver.ackMany = async (jobs: readonly ReservedJob[]) => {
      alone += jobs.length;
      return ackMany(jobs);
    };
    const batcher = new AckBatcher(driver, clock);
    const acks = first.map((j) => batcher.ack(j));
    const next = await batcher.claim(request(2));
    expect(await Promise.all(acks)).toEqual([true, true]);
    expect(alone).toBe(0);
    expect(next).toHaveLength(2);
    expect(new Set([...first, ...next].map((j) => j.id)).size).toBe(4);
    const stats = await driver.stats();
    expect(stats[0]).toMatchObject({ ready: 0, reserved: 2 });
  });
});
