import type { FullDriver } from '../../src/core/driver.ts';
import { RedisDriver } from '../../src/core/drivers/redis.ts';
import { driverContract } from './driver-contract.ts';
import { dropClusterPrefix, requireCluster, uniqueName } from '../helpers/servers.ts';

driverContract('redis cluster (3 masters)', async () => {
  const url = await requireCluster();
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
      await dropClusterPrefix(prefix);
    },
  };
});
