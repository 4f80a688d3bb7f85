import { createHash } from 'node:crypto';
import net from 'node:net';
import { MemcacheClient } from 'memcache-client';
import { describe, expect, it } from 'vitest';
import type { FullDriver } from '../../src/store/driver.ts';
import { MemcachedDriver } from '../../src/drivers/memcached/memcached.ts';
import { adminContract } from './admin-contract.ts';
import { driverContract, type DriverHarness } from './driver-contract.ts';
import { failedContract } from './failed-contract.ts';
import { batchContract } from './batch-contract.ts';
import { flowContract } from './flow-contract.ts';
import { limitContract } from './limit-contract.ts';
import { dedupContract } from './dedup-contract.ts';
import { groupContract } from './group-contract.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';
import { TestClock } from '../helpers/clock.ts';

const memcached = async (): Promise<DriverHarness & { serverClock: boolean }> => {
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
    serverClock: true,
  };
};

driverContract('memcached', memcached);
adminContract('memcached', memcached);
failedContract('memcached', memcached);
flowContract('memcached', memcached);
batchContract('memcached', memcached);
limitContract('memcached', memcached);
dedupContract('memcached', memcached);
groupContract('memcached', memcached);

describe('memcached driver: the look past the head', () => {
  it('finds a due job behind more running ones than its first look reads, and behind a window of finished ones', async () => {
    const servers = await requireMemcached();
    const clock = new TestClock();
    const driver = new MemcachedDriver(servers, uniqueName('look'), clock);
    const leases = { defaultMs: 60_000, byName: {} };
    const take = (limit: number) => driver.reserve({ queues: ['default'], names: null, limit, leases });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 2300; i++) {
        ids.push((await driver.push({ name: 'Noop', queue: 'default', payload: '{}', scheduledAt: clock.now(), overlapKey: null })).id!);
      }
      // 150 running: a claim of one must look past all of them.
      const running = await take(150);
      expect(running.map((j) => j.id)).toEqual(ids.slice(0, 150));
      expect((await take(1)).map((j) => j.id)).toEqual([ids[150]]);
      // 2,000 more finished: the next due job is past a whole window of finished slots.
      for (let done = 0; done < 2000; done += 100) await Promise.all((await take(100)).map((j) => driver.ack(j)));
      expect((await take(1)).map((j) => j.id)).toEqual([ids[2151]]);
    } finally {
      await driver.close();
    }
  }, 60_000);

  it('keeps its head before a slot whose push is still under way, so the job written there is found', async () => {
    const servers = await requireMemcached();
    const prefix = uniqueName('inflight');
    const clock = new TestClock();
    const driver = new MemcachedDriver(servers, prefix, clock);
    const raw = new MemcacheClient({ server: servers.split(',')[0]! });
    const take = () => driver.reserve({ queues: ['default'], names: null, limit: 1, leases: { defaultMs: 60_000, byName: {} } });
    const push = () => driver.push({ name: 'Noop', queue: 'default', payload: '{}', scheduledAt: clock.now(), overlapKey: null });
    try {
      await push(); // slot 1
      await driver.ack((await take())[0]!);
      await raw.incr(`${prefix}:q:default:tail`, 1); // slot 2: a push between its tail increment and its write
      const behind = await push(); // slot 3
      expect((await take()).map((j) => j.id)).toEqual([behind.id]);
      const head = await raw.get<string>(`${prefix}:q:default:head`);
      expect(Number(head?.value)).toBe(1); // past the finished slot 1, not past slot 2
    } finally {
      raw.shutdown();
      await driver.close();
    }
  });
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
      // The restart mark is a record (store-services.ts): P:rec:signal:<sha1 of its id>.
      const restart = `${prefix}:rec:signal:${createHash('sha1').update('restart').digest('hex')}`;
      const keys = [`${prefix}:job:${id}`, `${prefix}:q:default:slot:1`, `${prefix}:q:default:tail`, `${prefix}:seq`, restart];
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
