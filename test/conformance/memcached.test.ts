import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FullDriver } from '../../src/core/driver.ts';
import { MemcachedDriver } from '../../src/core/drivers/memcached.ts';
import { driverContract } from './driver-contract.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';
import { TestClock } from '../helpers/clock.ts';

driverContract('memcached', async () => {
  const servers = await requireMemcached();
  // A fresh prefix per run: memcached has no way to list keys, and needs none.
  const prefix = uniqueName('t');
  const drivers: FullDriver[] = [];
  return {
    driver(clock) {
      const driver = new MemcachedDriver(servers, prefix, clock);
      drivers.push(driver);
      return driver;
    },
    async teardown() {
      await Promise.all(drivers.map((d) => d.close()));
    },
  };
});

describe('memcached driver: keys', () => {
  it('never expire: a job waits as long as it must, not memcached-client\'s default minute', async () => {
    const servers = await requireMemcached();
    const prefix = uniqueName('ttl');
    const clock = new TestClock();
    const driver = new MemcachedDriver(servers, prefix, clock);
    try {
      const { id } = await driver.push({ name: 'later', queue: 'default', payload: '{}', scheduledAt: clock.now() + 3_600_000, overlapKey: null });
      await driver.requestRestart(clock.now());
      const [host, port] = servers.split(',')[0]!.split(':');
      const keys = [`${prefix}:job:${id}`, `${prefix}:q:default:slot:1`, `${prefix}:q:default:tail`, `${prefix}:seq`, `${prefix}:restart`];
      // The meta get's t flag answers the remaining lifetime: -1 is none.
      const ttls = await metaTtls(host!, Number(port), keys);
      expect(ttls).toEqual(keys.map(() => -1));
    } finally {
      await driver.close();
    }
  });
});

function metaTtls(host: string, port: number, keys: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.write(keys.map((k) => `mg ${k} t\r\n`).join('')));
    let text = '';
    socket.on('data', (d) => {
      text += d;
      const lines = text.split('\r\n').filter(Boolean);
      if (lines.length < keys.length) return;
      socket.end();
      resolve(lines.map((l) => (/^HD t(-?\d+)/.exec(l) ? Number(/^HD t(-?\d+)/.exec(l)![1]) : NaN)));
    });
    socket.on('error', reject);
  });
}
