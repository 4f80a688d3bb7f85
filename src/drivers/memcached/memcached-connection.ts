/**
 * The memcache-client clients of the memcached driver and schedule store: made the same way, and
 * their sockets do not keep the process alive when idle: a command in flight still does
 * (memcache-client times each one with a timer), and so does work held by keep-alive.ts. The
 * library makes its sockets itself, so the hook sits on its connection class, and acts for the
 * clients given here only.
 */
import type { Socket } from 'node:net';
import { MemcacheClient, MemcacheConnection } from 'memcache-client';
import { unrefHandle } from '../../infra/keep-alive.ts';

const ours = new WeakSet<object>();
let hooked = false;

export function idleSocketsLetGo(client: MemcacheClient): void {
  ours.add(client);
  if (hooked) return;
  hooked = true;
  const proto = MemcacheConnection.prototype;
  const setup = proto._setupConnection;
  proto._setupConnection = function (this: MemcacheConnection, socket: Socket) {
    if (this.client && ours.has(this.client)) unrefHandle(socket);
    setup.call(this, socket);
  };
}

/** A client for `servers` (`host:port`, comma-separated) whose idle sockets let the process exit. */
export function createMemcacheClient(servers: string): MemcacheClient {
  const list = servers.split(',').map((s) => s.trim()).filter(Boolean);
  const client = new MemcacheClient({
    server: list.length === 1 ? list[0]! : { servers: list.map((server) => ({ server, maxConnections: 4 })) },
    cmdTimeout: 5000,
    noDelay: true,
    ignoreNotStored: false,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  } as ConstructorParameters<typeof MemcacheClient>[0]);
  idleSocketsLetGo(client);
  return client;
}
