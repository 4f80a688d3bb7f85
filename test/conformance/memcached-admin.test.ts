import type { AdminDriver } from '../../src/core/driver.ts';
import { MemcachedDriver } from '../../src/core/drivers/memcached.ts';
import { adminContract } from './admin-contract.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';

adminContract('memcached', async () => {
  const servers = await requireMemcached();
  // A fresh prefix per run: memcached has no way to list keys, and needs none.
  const prefix = uniqueName('t');
  const drivers: AdminDriver[] = [];
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
