/**
 * On Redis a bulk dispatch wakes idle workers as single dispatches do: within milliseconds when
 * it brings a queue its first due jobs, and not at all for jobs that are only scheduled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../src/core/driver.ts';
import { RedisDriver } from '../../src/core/drivers/redis.ts';
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
