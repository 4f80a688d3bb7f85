/**
 * On Redis a record's time to live is the key's own expiry, which leaves its entry in the
 * namespace's listing behind: writes drop those, so short-lived records (progress, rate windows)
 * do not make the listing grow without end when nobody lists them.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { TestClock } from '../helpers/clock.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

describe('redis: records with a time to live', () => {
  it('leave no entries behind in the listing once they expire and others are written', async () => {
    const url = await requireRedis();
    const prefix = uniqueName('records');
    const driver = new RedisDriver(url, prefix, new TestClock());
    const raw = new Redis(url);
    try {
      for (let i = 0; i < 30; i++) expect(await driver.casRecord('progress', `old-${i}`, null, '{}', 300)).toBe(true);
      expect(await driver.casRecord('progress', 'kept', null, '{}', null)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 600)); // wall time: their 300 ms to live lapses on Redis's clock
      for (let i = 0; i < 3; i++) expect(await driver.casRecord('progress', `new-${i}`, null, '{}', 60_000)).toBe(true);
      expect((await raw.zrange(`${prefix}:{~r:progress}:index`, 0, -1)).sort()).toEqual(['kept', 'new-0', 'new-1', 'new-2']);
      expect((await raw.zrange(`${prefix}:{~r:progress}:expiry`, 0, -1)).sort()).toEqual(['new-0', 'new-1', 'new-2']);
      expect((await driver.listRecords('progress', 10)).map((r) => r.id)).toEqual(['new-2', 'new-1', 'new-0', 'kept']);
    } finally {
      raw.disconnect();
      await driver.close();
      await dropRedisPrefix(url, prefix);
    }
  });
});
