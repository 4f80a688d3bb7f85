import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIVE_WITHIN_MS } from '../../src/store/admin-store.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { TestClock } from '../helpers/clock.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

describe('redis: the dashboard on what the driver stores', () => {
  const LEASES = { byName: {}, defaultMs: 60_000 };
  let url: string;
  let prefix: string;
  let clock: TestClock;
  let driver: RedisDriver;
  beforeEach(async () => {
    url = await requireRedis();
    prefix = uniqueName('adm');
    clock = new TestClock();
    driver = new RedisDriver(url, prefix, clock);
  });
  afterEach(async () => {
    await driver.close();
    await dropRedisPrefix(url, prefix);
  });

  it('shows a reserved job at the due time it was claimed at, in claim order', async () => {
    const now = clock.now();
    const early = await driver.push({ name: 'a', queue: 'q', payload: '{}', scheduledAt: now - 5000, overlapKey: null });
    const late = await driver.push({ name: 'b', queue: 'q', payload: '{}', scheduledAt: now - 1000, overlapKey: null });
    await driver.reserve({ queues: ['q'], names: ['b'], limit: 1, leases: LEASES });
    clock.advance(10_000);
    await driver.reserve({ queues: ['q'], names: null, limit: 1, leases: LEASES });
    const page = await driver.listJobs({ state: null, queue: 'q', search: null, offset: 0, limit: 10 });
    expect(page.jobs.map((j) => [j.id, j.state, j.scheduledAt])).toEqual([[early.id, 'reserved', now - 5000], [late.id, 'reserved', now - 1000]]);
  });

  it('leaves the acks of a paused queue to the caller and claims nothing from it', async () => {
    const now = clock.now();
    await driver.push({ name: 'a', queue: 'p', payload: '{}', scheduledAt: now - 1000, overlapKey: null });
    await driver.push({ name: 'a', queue: 'p', payload: '{}', scheduledAt: now - 1000, overlapKey: null });
    const [held] = await driver.reserve({ queues: ['p'], names: null, limit: 1, leases: LEASES });
    await driver.pauseQueue('p');
    const paused = await driver.pausedQueues();
    const turn = await driver.reserveAfterAcks([held!], { queues: null, names: null, limit: 5, leases: LEASES, paused });
    expect(turn).toEqual({ claimed: [], held: [undefined] });
    expect(await driver.ack(held!)).toBe(true);
    expect((await driver.listJobs({ state: 'ready', queue: 'p', search: null, offset: 0, limit: 10 })).total).toBe(1);
  });

  it('lists, cancels and frees the key of a job queued by an earlier version (a hash)', async () => {
    const raw = new Redis(url);
    try {
      const m = '000000000001';
      await raw.hset(`${prefix}:{default}:j:${m}`, { name: 'mail', payload: '{"n":1}', attempts: 2, sched: 1, created: 1000, okey: 'k1' });
      await raw.zadd(`${prefix}:{default}:pending`, 1, m);
      await raw.hset(`${prefix}:{default}:overlap`, 'k1', m);
      await raw.sadd(`${prefix}:queues`, 'default');
      expect(await driver.listJobs({ state: null, queue: null, search: 'MAI', offset: 0, limit: 10 })).toMatchObject({
        total: 1, jobs: [{ id: 'default/1', name: 'mail', payload: '{"n":1}', attempts: 2, createdAt: 1000, overlapKey: 'k1', state: 'ready' }],
      });
      expect(await driver.listOverlapLocks()).toMatchObject([{ key: 'k1', jobId: 'default/1', name: 'mail', state: 'ready', since: 1000 }]);
      expect(await driver.cancelJob('default/1')).toBe(true);
      expect(await raw.hexists(`${prefix}:{default}:overlap`, 'k1')).toBe(0);
    } finally {
      raw.disconnect();
    }
  });

  it('brings back a worker taken for lost when it beats again', async () => {
    const beat = { id: 'h:1:1', host: 'h', pid: 1, queues: null, running: [], startedAt: 1, beatAt: clock.now(), done: 0, failed: 0 };
    await driver.beat(beat);
    expect((await driver.listWorkers(clock.now() + LIVE_WITHIN_MS + 1)).map((w) => w.end)).toEqual(['lost']);
    await driver.beat({ ...beat, beatAt: clock.now() + 1 });
    expect((await driver.listWorkers(clock.now())).map((w) => w.end)).toEqual([null]);
    await driver.workerStopped(beat.id, 'signal', clock.now() + 2);
    await driver.beat({ ...beat, beatAt: clock.now() + 3 });
    expect((await driver.listWorkers(clock.now())).map((w) => w.end)).toEqual(['signal']);
  });

  it('keeps the last beat of a lost worker when the manager later says why it ended', async () => {
    const beat = { id: 'h:2:1', host: 'h', pid: 2, queues: ['a'], running: [], startedAt: 1, beatAt: clock.now(), done: 7, failed: 1 };
    await driver.beat(beat);
    const later = clock.now() + LIVE_WITHIN_MS + 1;
    expect((await driver.listWorkers(later)).map((w) => w.end)).toEqual(['lost']);
    await driver.workerStopped(beat.id, 'crash', later);
    expect(await driver.listWorkers(later)).toMatchObject([{ id: beat.id, queues: ['a'], done: 7, failed: 1, end: 'crash', stoppedAt: later }]);
  });
});
