/**
 * The real servers the tests use, and a check that fails with how to start one that is down.
 */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';

export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START: Record<string, string> = {
  mysql: 'start MariaDB: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd (or set TEST_MYSQL_URL)',
  pg: 'start PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (or set TEST_PG_URL)',
};

/** Throws an error that says how to start the server when `url` does not answer. */
export async function requireDatabase(kind: 'mysql' | 'pg'): Promise<string> {
  const url = kind === 'mysql' ? MYSQL_URL : PG_URL;
  const knex = knexFactory({ client: kind === 'mysql' ? 'mysql2' : 'pg', connection: url, acquireConnectionTimeout: 5000 });
  try {
    await knex.raw('SELECT 1');
    return url;
  } catch (error) {
    throw new Error(`${url} is not reachable (${(error as Error).message}): ${HOW_TO_START[kind]}`);
  } finally {
    await knex.destroy();
  }
}

/** A table-name prefix no other test file uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * The stores a run covers: TEST_STORES, a comma list of sqlite, mysql, pg, redis, cluster, file
 * and memcached (the quick tier sets sqlite,redis,file: vitest.config.ts), or every store.
 */
const ONLY = process.env.TEST_STORES?.split(',').map((s) => s.trim()).filter(Boolean);

/** Whether this run covers the store `key` (its name in TEST_STORES). */
export const covers = (key: string): boolean => !ONLY || ONLY.includes(key);

export type DatabaseKind = 'sqlite' | 'mysql' | 'pg';
export const DATABASES: DatabaseKind[] = (['sqlite', 'mysql', 'pg'] as const).filter(covers);

/** A new, empty database on the server of `kind` (for tests that run `rakit migrate`); drop it after. */
export async function scratchDatabase(kind: 'mysql' | 'pg'): Promise<{ url: string; drop(): Promise<void> }> {
  const base = await requireDatabase(kind);
  const name = uniqueName('rakit_test');
  const admin = knexFactory({ client: kind === 'mysql' ? 'mysql2' : 'pg', connection: base });
  await admin.raw(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      if (kind === 'pg') await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      else await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
      await admin.destroy();
    },
  };
}

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Throws an error that says how to start Redis when it does not answer. */
export async function requireRedis(url = REDIS_URL): Promise<string> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return url;
  } catch (error) {
    throw new Error(`${url} is not reachable (${(error as Error).message}): start Redis: redis-server --daemonize yes --port 6379 --save "" --appendonly no (or set TEST_REDIS_URL)`);
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix` (tests only: SCAN is never on the driver's path). */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await client.del(...keys);
  } while (cursor !== '0');
  client.disconnect();
}

export const CLUSTER_PORTS = [7101, 7102, 7103];
export const CLUSTER_URL = `redis+cluster://${CLUSTER_PORTS.map((p) => `127.0.0.1:${p}`).join(',')}`;

/** Starts the tests' 3-master Redis Cluster on 127.0.0.1:7101-7103 when it is not up. */
export async function requireCluster(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));
  try {
    execFileSync(script, ['start'], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`Redis Cluster could not be started (${String((error as { stderr?: unknown }).stderr ?? error)}): run scripts/redis-cluster.sh start (needs redis-server and redis-cli)`);
  }
  return CLUSTER_URL;
}

/** Deletes every key under `prefix` on every node of the test cluster. */
export async function dropClusterPrefix(prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  for (const port of CLUSTER_PORTS) {
    const node = new Redis({ port, host: '127.0.0.1' });
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) await node.unlink(key).catch(() => undefined);
    } while (cursor !== '0');
    node.disconnect();
  }
}

export const MEMCACHED_SERVERS = process.env.TEST_MEMCACHED_SERVERS ?? '127.0.0.1:11211';

/** Throws an error that says how to start memcached when it does not answer. */
export async function requireMemcached(servers = MEMCACHED_SERVERS): Promise<string> {
  const { MemcacheClient } = await import('memcache-client');
  const client = new MemcacheClient({ server: servers.split(',')[0]!, cmdTimeout: 2000 });
  try {
    await client.version();
    return servers;
  } catch (error) {
    throw new Error(`memcached at ${servers} is not reachable (${(error as Error).message}): start it: memcached -d -u root -l 127.0.0.1 -p 11211 (apt-get install -y memcached) (or set TEST_MEMCACHED_SERVERS)`);
  } finally {
    client.shutdown();
  }
}
