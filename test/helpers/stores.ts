/**
 * Every queue store a test can run an app on: SQLite, MariaDB, PostgreSQL, Redis, Redis Cluster,
 * file and memcached, each fresh (unique tables, prefixes or folders).
 */
import path from 'node:path';
import {
  CLUSTER_URL, DATABASES, covers, dropClusterPrefix, dropRedisPrefix, requireCluster, requireMemcached, requireRedis, scratchDatabase, uniqueName,
  type DatabaseKind,
} from './servers.ts';

export interface Store {
  label: string;
  database?: DatabaseKind;
  /** Config for an app (SQLite and file keep their data under `dir`), and what to drop afterwards. */
  setup(dir: string): Promise<{ config: Record<string, unknown>; drop(): Promise<void> }>;
}

/** The stores this run covers (TEST_STORES, servers.ts). */
export const STORES: Store[] = ([
  ...DATABASES.map((kind): Store => ({
    label: kind,
    database: kind,
    async setup(dir) {
      if (kind === 'sqlite') return { config: { database: `sqlite:${path.join(dir, 'jobs.sqlite')}` }, drop: async () => {} };
      const scratch = await scratchDatabase(kind);
      return { config: { database: scratch.url }, drop: scratch.drop };
    },
  })),
  {
    label: 'redis',
    async setup() {
      const url = await requireRedis();
      const prefix = uniqueName('s');
      return { config: { driver: 'redis', redis: url, prefix }, drop: () => dropRedisPrefix(url, prefix) };
    },
  },
  {
    label: 'redis cluster',
    async setup() {
      await requireCluster();
      const prefix = uniqueName('s');
      return { config: { driver: 'redis', redis: CLUSTER_URL, prefix }, drop: () => dropClusterPrefix(prefix) };
    },
  },
  { label: 'file', setup: async (dir) => ({ config: { driver: 'file', file_path: path.join(dir, 'jobs') }, drop: async () => {} }) },
  {
    label: 'memcached',
    async setup() {
      return { config: { driver: 'memcached', memcached: await requireMemcached(), prefix: uniqueName('s') }, drop: async () => {} };
    },
  },
] as Store[]).filter((store) => covers(store.label === 'redis cluster' ? 'cluster' : store.label));

