import { MemcachedScheduleStore } from '../../src/schedule/stores/memcached.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';
import { storeContract } from './store-contract.ts';

storeContract('memcached', async () => {
  const servers = await requireMemcached();
  const prefix = uniqueName('sch');
  return {
    config: { driver: 'memcached', memcached: servers, prefix },
    store: (clock) => new MemcachedScheduleStore(servers, prefix, clock),
    teardown: async () => {},
  };
});
