/**
 * Builds the schedule store of the configured driver, with connections of its own, loading
 * only that store's module (a cron run on SQLite never pays for ioredis or memcache-client).
 */
import path from 'node:path';
import type { Clock } from '../../core/clock.ts';
import type { JobConfig } from '../../core/config.ts';
import { assertClient } from '../../core/drivers/store-clients.ts';
import type { ScheduleStore } from '../store.ts';

export async function openScheduleStore(config: JobConfig, clock: Clock): Promise<ScheduleStore> {
  switch (config.driver) {
    case 'database': {
      const [{ DatabaseScheduleStore }, { createKnex }] = await Promise.all([import('./database.ts'), import('../../core/drivers/database-connection.ts')]);
      return new DatabaseScheduleStore(createKnex(config.database, config.root), config.table, clock);
    }
    case 'redis': {
      assertClient('redis');
      const { RedisScheduleStore } = await import('./redis.ts');
      return new RedisScheduleStore(config.redis, config.prefix, clock);
    }
    case 'file': {
      const { FileScheduleStore } = await import('./file.ts');
      return new FileScheduleStore(path.resolve(config.root, config.file_path), clock);
    }
    case 'memcached': {
      assertClient('memcached');
      const { MemcachedScheduleStore } = await import('./memcached.ts');
      return new MemcachedScheduleStore(config.memcached, config.prefix, clock);
    }
  }
}
