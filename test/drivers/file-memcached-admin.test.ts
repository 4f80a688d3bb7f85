/**
 * What the dashboard relies on of the file and memcached drivers' own layouts, beyond the admin
 * conformance suite: a cancel racing claims from other processes, a job claimed under the file
 * driver's earlier reserved-file name, and a record's lock (metrics are records) left by a killed process.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUNTIME_BUCKETS_MS } from '../../src/store/admin-store.ts';
import type { AdminDriver } from '../../src/store/driver.ts';
import { FileDriver } from '../../src/drivers/file/file.ts';
import { MemcachedDriver } from '../../src/drivers/memcached/memcached.ts';
import { TestClock } from '../helpers/clock.ts';
import { requireMemcached, uniqueName } from '../helpers/servers.ts';

const LEASE = { byName: {}, defaultMs: 60_000 };
const roots: string[] = [];
const fileRoot = () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-admin-'));
  roots.push(root);
  return path.join(root, 'jobs');
};
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

const stores: [string, () => Promise<(clock: TestClock) => AdminDriver>][] = [
  ['file', async () => {
    const root = fileRoot();
    return (clock) => new FileDriver(root, clock);
  }],
  ['memcached', async () => {
    const servers = await requireMemcached();
    const prefix = uniqueName('adm');
    return (clock) => new MemcachedDriver(servers, prefix, clock);
  }],
];

describe.each(stores)('%s driver: a cancel racing claims', (_label, store) => {
  it('never both cancels a job and hands it to a worker', async () => {
    const open = await store();
    const clock = new TestClock();
    const [admin, workerA, workerB] = [open(clock), open(clock), open(clock)];
    try {
      const ids: string[] = [];
      for (let i = 0; i < 60; i++) ids.push((await admin.push({ name: 'x', queue: 'race', payload: '{}', scheduledAt: clock.now(), overlapKey: `k${i}` })).id!);
      const claim = async (driver: AdminDriver) => {
        const got: string[] = [];
        for (let i = 0; i < 15; i++) got.push(...(await driver.reserve({ queues: ['race'], names: null, limit: 2, leases: LEASE })).map((j) => j.id));
        return got;
      };
      const cancel = async () => {
        const gone: string[] = [];
        for (const id of [...ids].reverse()) if (await admin.cancelJob(id)) gone.push(id);
        return gone;
      };
      const [a, b, cancelled] = await Promise.all([claim(workerA), claim(workerB), cancel()]);
      const claimed = [...a, ...b];
      expect(claimed.filter((id) => cancelled.includes(id))).toEqual([]);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.length + cancelled.length).toBe(60);
      // Every cancelled job's overlap key is free again; every claimed one's is still held.
      expect((await admin.listOverlapLocks()).map((l) => l.jobId).sort()).toEqual([...claimed].sort());
    } finally {
      await Promise.all([admin, workerA, workerB].map((d) => d.close()));
    }
  }, 30_000);
});

describe('file driver: its own files', () => {
  it('lists a job claimed under the earlier reserved-file name (without its due time) as reserved', async () => {
    const root = fileRoot();
    const clock = new TestClock();
    const driver = new FileDriver(root, clock);
    try {
      const { id } = await driver.push({ name: 'x', queue: 'q', payload: '{}', scheduledAt: clock.now() - 5000, overlapKey: null });
      const [job] = await driver.reserve({ queues: ['q'], names: null, limit: 1, leases: LEASE });
      const dir = path.join(root, 'reserved', 'q');
      const [file] = readdirSync(dir);
      renameSync(path.join(dir, file!), path.join(dir, file!.split('.').slice(0, 4).concat('job').join('.')));
      expect(await driver.getJob(id!)).toMatchObject({ state: 'reserved', reservedUntil: job!.reservedUntil, attempts: 1 });
      clock.advance(LEASE.defaultMs + 1);
      expect(await driver.getJob(id!)).toMatchObject({ state: 'ready' });
      expect((await driver.reserve({ queues: ['q'], names: null, limit: 1, leases: LEASE })).map((j) => j.id)).toEqual([id]);
    } finally {
      await driver.close();
    }
  });

  it('takes over a record lock left by a killed writer, and waits for a live one (metrics are records)', async () => {
    const root = fileRoot();
    const clock = new TestClock();
    const driver = new FileDriver(root, clock);
    const sample = { minute: 60_000, queue: 'q', name: 'x', done: 1, failed: 0, retried: 0, runtimeMs: 1, waitMs: 1, buckets: [...RUNTIME_BUCKETS_MS.map(() => 0), 1] };
    try {
      await driver.open();
      // The lock of the record of minute 60,000 (store-services.ts, file-records.ts).
      const lock = path.join(root, 'records', 'metrics', `${createHash('sha1').update('60000').digest('hex')}.lock`);
      mkdirSync(path.dirname(lock), { recursive: true });
      writeFileSync(lock, 'killed');
      const minuteAgo = (Date.now() - 60_000) / 1000;
      utimesSync(lock, minuteAgo, minuteAgo);
      await driver.addMetrics([sample]);
      writeFileSync(lock, 'live');
      let added = false;
      const adding = driver.addMetrics([sample]).then(() => (added = true));
      await new Promise((resolve) => setTimeout(resolve, 300)); // a negative check: 300 ms in which it must not get through
      expect(added).toBe(false);
      rmSync(lock);
      await adding;
      expect((await driver.readMetrics(0, 120_000)).map((s) => s.done)).toEqual([2]);
    } finally {
      await driver.close();
    }
  });
});
