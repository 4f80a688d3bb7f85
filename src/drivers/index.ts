/**
 * Picks and builds the configured driver, loading only its module (and its client library):
 * a cron run on SQLite never pays for ioredis or memcache-client, and an app need not install
 * the clients of stores it does not use (store-clients.ts).
 */
import path from 'node:path';
import type { Clock } from '../infra/clock.ts';
import type { JobConfig } from '../infra/config.ts';
import type { AdminDriver } from '../store/driver.ts';
import { assertClient } from './store-clients.ts';

export async function createDriver(config: JobConfig, clock: Clock): Promise<AdminDriver> {
  switch (config.driver) {
    case 'database': {
      const [{ DatabaseDriver }, { createKnex }] = await Promise.all([import('./database/database.ts'), import('./database/database-connection.ts')]);
      return new DatabaseDriver(createKnex(config.database, config.root, { queue: true }), { table: config.table, failedTable: config.failed_table }, clock);
    }
    case 'redis': {
      assertClient('redis');
      const { RedisDriver } = await import('./redis/redis.ts');
      return new RedisDriver(config.redis, config.prefix, clock);
    }
    case 'file': {
      const { FileDriver } = await import('./file/file.ts');
      return new FileDriver(path.resolve(config.root, config.file_path), clock);
    }
    case 'memcached': {
      assertClient('memcached');
      const { MemcachedDriver } = await import('./memcached/memcached.ts');
      return new MemcachedDriver(config.memcached, config.prefix, clock);
    }
    case 'sync': {
      const { memoryDatabase } = await import('../api/inline/memory-database.ts');
      return memoryDatabase(config, clock);
    }
  }
}
