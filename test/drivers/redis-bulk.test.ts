/**
 * On Redis a bulk dispatch wakes idle workers as single dispatches do: within milliseconds when
 * it brings a queue its first due jobs, and not at all for jobs that are only scheduled. A bulk
 * dispatch bigger than one script call keeps its order and its overlap keys across the calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewJob, ReservedJob } from '../../src/store/driver.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { TestClock } from '../helpers/clock.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

const opened: { driver: RedisDriver; url: string; prefix: string }[] = [];

afterEach(async () => {
  for (const { driver, url, prefix } of opened.splice(0)) {
    await driver.close();
    await dropRedisPrefix(url, prefix);
  }
});

/** A dispatching driver and a worker's driver already waiting idle on queue `mail`. */
async function idleWorker() {
  const url = await requireRedis();
  const prefix = uniqueName('bulk');
  const clock = new TestClock();
  const dispatcher = new RedisDriver(url, prefix, clock);
  const worker = new RedisDriver(url, prefix, clock);
  opened.push({ driver: dispatcher, url, prefix }, { driver: worker, url, prefix });
  // The first wait only subscribes (so that no wake message is missed between look and wait).
  await worker.waitForJob(['mail'], 10, new AbortController().signal);
  /** How long the worker's next wait lasted, at most 1.5 s. */
  const waited = async (dispatch: () => Promise<unknown>) => {
    const started = Date.now();
    const waiting = worker.waitForJob(['mail'], 1_500, new AbortController().signal);
    await dispatch();
    await waiting;
    return Date.now() - started;
  };
  const jobs = (at: number): NewJob[] => Array.from({ length: 3 }, () => ({ name: 'note', queue: 'mail', payload: '{}', scheduledAt: at, overlapKey: null }));
  return { dispatcher, clock, waited, jobs };
}

describe('redis: bulk dispatch and idle workers', () => {
  it('wakes a worker waiting on the queue within milliseconds', async () => {
    const { dispatcher, clock, waited, jobs } = await idleWorker();
    expect(await waited(() => dispatcher.pushMany(jobs(clock.now())))).toBeLessThan(500);
  });

  it('does not wake it for jobs that are only scheduled', async () => {
    const { dispatcher, clock, waited, jobs } = await idleWorker();
    expect(await waited(() => dispatcher.pushMany(jobs(clock.now() + 60_000)))).toBeGreaterThanOrEqual(1_400);
  });
});

describe('redis: a bulk dispatch of more jobs than one script call takes', () => {
  it('keeps the order given and holds an overlap key across the calls', async () => {
    const { dispatcher, clock } = await idleWorker();
    const now = clock.now();
    const jobs: NewJob[] = Array.from({ length: 2_500 }, (_, i) => ({
      name: 'note', queue: 'mail', payload: JSON.stringify({ i }), scheduledAt: now, overlapKey: i === 0 || i === 2_100 ? 'once' : null,
    }));
    const results = await dispatcher.pushMany(jobs);
    expect(results[2_100]).toEqual({ skipped: 'overlapping', existingId: results[0]!.id });
    const claimed: ReservedJob[] = [];
    for (let more = true; more;) {
      const batch = await dispatcher.reserve({ queues: ['mail'], names: null, limit: 500, leases: { byName: {}, defaultMs: 60_000 } });
      claimed.push(...batch);
      more = batch.length > 0;
    }
    const expected = jobs.map((_, i) => i).filter((i) => i !== 2_100);
    expect(claimed.map((job) => JSON.parse(job.payload).i)).toEqual(expected);
    expect(claimed.map((job) => job.id)).toEqual(expected.map((i) => results[i]!.id));
  });
});
