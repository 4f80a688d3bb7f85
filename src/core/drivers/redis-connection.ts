/**
 * Turns the `redis` setting into an ioredis client: `redis://[:pass@]host:port/db` (or
 * `rediss://`), `redis+cluster://host:port,host:port` for Redis Cluster, or an object of ioredis
 * options (`{ sentinels: [...], name: 'mymaster' }` for Sentinel, `{ cluster: [...] }`).
 */
import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.ts';
import { redact } from './redact.ts';

export type RedisSetting = string | (RedisOptions & { cluster?: ClusterNode[] });
export type RedisClient = Redis | Cluster;

const COMMON: RedisOptions = {
  lazyConnect: true,
  // Keep retrying: a worker must come back by itself after Redis restarts.
  retryStrategy: (times) => Math.min(50 * times, 1000),
  maxRetriesPerRequest: 3,
  enableAutoPipelining: true,
};

export function createRedis(setting: RedisSetting): RedisClient {
  if (typeof setting !== 'string') {
    const { cluster, ...options } = setting;
    if (cluster) return new Cluster(cluster, { lazyConnect: true, enableAutoPipelining: true, redisOptions: { ...COMMON, ...options } });
    return new Redis({ ...COMMON, ...options });
  }
  const cluster = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)/.exec(setting);
  if (cluster) {
    const [, user = '', pass = '', hosts = ''] = cluster;
    const nodes = hosts.split(',').map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
    return new Cluster(nodes, {
      lazyConnect: true,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
      redisOptions: { ...COMMON, username: decodeURIComponent(user) || undefined, password: decodeURIComponent(pass) || undefined },
    });
  }
  let url: URL;
  try {
    url = new URL(setting);
  } catch {
    throw new ConfigError(`redis: "${redact(setting)}" is not a URL like redis://127.0.0.1:6379/0 or redis+cluster://127.0.0.1:7000,127.0.0.1:7001`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`redis: unknown scheme "${url.protocol}" in ${redact(setting)}: use redis://, rediss:// or redis+cluster://`);
  }
  return new Redis(setting, COMMON);
}

/** `redis 127.0.0.1:6379/0`, never with a password. */
export function describeRedis(setting: RedisSetting): string {
  // Credentials never appear: `redis 127.0.0.1:6379/0`.
  if (typeof setting === 'string') return `redis ${setting.replace(/^redis(\+cluster|s)?:\/\//, '').replace(/^[^@/]*@/, '')}`;
  if (setting.cluster) return `redis cluster ${setting.cluster.map((n) => (typeof n === 'object' ? `${n.host}:${n.port}` : String(n))).join(',')}`;
  if (setting.sentinels) return `redis sentinel ${setting.name ?? ''} via ${setting.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return `redis ${setting.host ?? '127.0.0.1'}:${setting.port ?? 6379}/${setting.db ?? 0}`;
}
