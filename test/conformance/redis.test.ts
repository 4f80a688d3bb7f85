import type { FullDriver } from '../../src/core/driver.ts';
import { RedisDriver } from '../../src/core/drivers/redis.ts';
import { driverContract } from './driver-contract.ts';
import { dropClusterPrefix, dropRedisPrefix, requireCluster, requireRedis, uniqueName } from '../helpers/servers.ts';

const targets: [string, () => Promise<string>, (url: string, prefix: string) => Promise<void>][] = [
  ['redis', () => requireRedis(), dropRedisPrefix],
  ['redis cluster (3 masters)', requireCluster, (_url, prefix) => dropClusterPrefix(prefix)],
];

for (const [label, reach, drop] of targets) {
  driverContract(label, async () => {
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
    };
  });
}
