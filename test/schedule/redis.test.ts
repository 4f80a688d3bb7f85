import { RedisScheduleStore } from '../../src/schedule/stores/redis.ts';
import { covers, dropClusterPrefix, dropRedisPrefix, requireCluster, requireRedis, uniqueName } from '../helpers/servers.ts';
import { storeContract } from './store-contract.ts';

const targets: [string, () => Promise<string>, (url: string, prefix: string) => Promise<void>][] = [
  ['Redis', () => requireRedis(), dropRedisPrefix],
  ['Redis Cluster (3 masters)', requireCluster, (_url, prefix) => dropClusterPrefix(prefix)],
];

for (const [label, reach, drop] of targets.filter(([label]) => covers(/cluster/i.test(label) ? 'cluster' : 'redis'))) {
  storeContract(label, async () => {
    const url = await reach();
    const prefix = uniqueName('sch');
    return {
      config: { driver: 'redis', redis: url, prefix },
      store: (clock) => new RedisScheduleStore(url, prefix, clock),
      teardown: () => drop(url, prefix),
    };
  });
}
