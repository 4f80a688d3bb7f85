import type { FullDriver } from '../../src/core/driver.ts';
import { MemcachedDriver } from '../../src/core/drivers/memcached.ts';
import { driverContract } from './driver-contract.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';

driverContract('memcached', async () => {
  const servers = await requireMemcached();
  // A fresh prefix per run: memcached has no way to list keys, and needs none.
  const prefix = uniqueName('t');
  const drivers: FullDriver[] = [];
  return {
    driver(clock) {
      const driver = new MemcachedDriver(servers, prefix, clock);
      drivers.push(driver);
      return driver;
    },
    async teardown() {
      await Promise.all(drivers.map((d) => d.close()));
    },
  };
});
