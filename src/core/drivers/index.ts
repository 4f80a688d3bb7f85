/**
 * Picks and builds the configured driver.
 */
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { JobConfig } from '../config.ts';
import type { FullDriver } from '../driver.ts';
import { DatabaseDriver } from './database.ts';
import { createKnex } from './database-connection.ts';
import { RedisDriver } from './redis.ts';
import { FileDriver } from './file.ts';
import { MemcachedDriver } from './memcached.ts';

export function createDriver(config: JobConfig, clock: Clock): FullDriver {
  switch (config.driver) {
    case 'database':
      return new DatabaseDriver(createKnex(config.database, config.root), { table: config.table, failedTable: config.failed_table }, clock);
    case 'redis':
      return new RedisDriver(config.redis, config.prefix, clock);
    case 'file':
      return new FileDriver(path.resolve(config.root, config.file_path), clock);
    case 'memcached':
      return new MemcachedDriver(config.memcached, config.prefix, clock);
  }
}
