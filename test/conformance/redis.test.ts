import type { FullDriver } from '../../src/core/driver.ts';
import { RedisDriver } from '../../src/core/drivers/redis.ts';
import { driverContract } from './driver-contract.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

driverContract('redis', async () => {
  const url = await requireRedis();
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
      await dropRedisPrefix(url, prefix);
    },
  };
});
