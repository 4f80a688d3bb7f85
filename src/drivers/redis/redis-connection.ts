/**
 * Turns the `redis` setting into an ioredis client: `redis://[:pass@]host:port/db` (or
 * `rediss://`), `redis+cluster://host:port,host:port` for Redis Cluster, or an object of ioredis
 * options (`{ sentinels: [...], name: 'mymaster' }` for Sentinel, `{ cluster: [...] }`).
 * Idle connections do not keep the process alive (keep-alive.ts).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisSetting } from '../../infra/config.ts';
import { ConfigError } from '../../infra/errors.ts';
import { unrefHandle } from '../../infra/keep-alive.ts';
import { redact } from '../redact.ts';

export type { RedisSetting };
export type RedisClient = Redis | Cluster;

/** The dispatch script's command name on the client (redis.ts defines it). */
export const PUSH_COMMAND = 'rakitPush';

/** The worker's claim and ack scripts' command names on the client (redis.ts defines them). */
export const CLAIM_COMMAND = 'rakitClaim';
export const ACK_COMMAND = 'rakitAck';

/**
 * Commands made in one turn of the event loop go out in one write, except the hot paths:
 * - Dispatches: each is written at once, so Redis runs it while the app is still making the
 *   next; only those made while 16 are in flight wait, and go in one PUSH_MANY call (redis-push.ts).
 *   Pipelined in one write per turn, a burst of dispatches left Redis idle while the app made
 *   them and the app idle while Redis ran them (median 30,800 against 38,200 dispatches a second
 *   over 6 alternating runs).
 * - A worker's claims and acks: one or two commands a turn, for which the pipeline ioredis builds
 *   costs more than the second write it saves (over 5 alternating runs, medians of 2,350 against
 *   2,170 jobs a second at concurrency 1 and 23,000 against 20,900 at concurrency 50).
 */
const PIPELINING = { enableAutoPipelining: true, autoPipeliningIgnoredCommands: [PUSH_COMMAND, CLAIM_COMMAND, ACK_COMMAND] };

const COMMON: RedisOptions = {
  lazyConnect: true,
  // Keep retrying: a worker must come back by itself after Redis restarts.
  retryStrategy: (times) => Math.min(50 * times, 1000),
  maxRetriesPerRequest: 3,
  ...PIPELINING,
};

export function createRedis(setting: RedisSetting): RedisClient {
  return idleLetsGo(makeRedis(setting));
}

/**
 * The client's sockets (and its duplicates', such as the subscriber), and a cluster's timer that
 * refreshes its slots, do not keep the process alive: work in flight does (keep-alive.ts).
 */
function idleLetsGo<T extends RedisClient>(client: T): T {
  if (client instanceof Cluster) {
    client.on('+node', (node: Redis) => idleLetsGo(node));
    let timer: NodeJS.Timeout | null = null;
    Object.defineProperty(client, 'slotsTimer', {
      get: () => timer,
      set: (value: NodeJS.Timeout | null) => unrefHandle((timer = value)),
    });
  } else {
    client.on('connect', () => unrefHandle((client as Redis).stream));
  }
  const duplicate = client.duplicate.bind(client) as (...args: unknown[]) => T;
  client.duplicate = ((...args: unknown[]) => idleLetsGo(duplicate(...args))) as T['duplicate'];
  return client;
}

function makeRedis(setting: RedisSetting): RedisClient {
  if (typeof setting !== 'string') {
    const { cluster, ...rest } = setting;
    const options = rest as RedisOptions;
    if (cluster) return new Cluster(cluster, { lazyConnect: true, ...PIPELINING, redisOptions: { ...COMMON, ...options } });
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
      ...PIPELINING,
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
