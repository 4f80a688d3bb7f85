/**
 * memcache-client's sockets of our clients do not keep the process alive when idle: a command in
 * flight still does (memcache-client times each one with a timer), and so does work held by
 * keep-alive.ts. The library makes its sockets itself, so the hook sits on its connection class,
 * and acts for the clients given here only.
 */
import type { Socket } from 'node:net';
import { MemcacheConnection, type MemcacheClient } from 'memcache-client';
import { unrefHandle } from '../keep-alive.ts';

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
