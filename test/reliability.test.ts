/**
 * Disk, corruption and security: a full disk refuses dispatches and keeps what is stored; a
 * corrupt stored payload (in a table, a Redis hash, a job file, a memcached record) fails that
 * job with a clear reason and the worker goes on; stored data never chooses code; passwords never
 * reach logs; job files are the owner's alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { MemcacheClient } from 'memcache-client';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/infra/config.ts';
import type { FullDriver } from '../src/store/driver.ts';
import { FileDriver } from '../src/drivers/file/file.ts';
import { MemcachedDriver } from '../src/drivers/memcached/memcached.ts';
import { RedisDriver } from '../src/drivers/redis/redis.ts';
import { ConnectionError } from '../src/infra/errors.ts';
import { Jobable } from '../src/api/jobable.ts';
import { Registry } from '../src/api/registry.ts';
import { Worker } from '../src/worker/worker.ts';
import { DEFAULT_WORKER_OPTIONS } from '../src/worker/worker-options.ts';
import { logLines, makeApp } from './helpers/app.ts';
import { TestClock } from './helpers/clock.ts';
import { dropRedisPrefix, PG_URL, requireMemcached, requireRedis, uniqueName } from './helpers/servers.ts';
import { allFailed } from './helpers/failed.ts';

const ran: string[] = [];
class Note extends Jobable<{ tag: string }> {
  async run() {
    ran.push(this.get('tag'));
  }
}

async function work(driver: FullDriver): Promise<void> {
  const registry = new Registry(os.tmpdir());
  registry.remember(Note);
  await new Worker(
    { driver, registry, clock: new TestClock(), logger: pino({ level: 'silent' }), config: resolveConfig({}) },
    { ...DEFAULT_WORKER_OPTIONS, sleepMs: 20, stopWhenEmpty: true },
  ).run();
}

const push = (driver: FullDriver, tag: string) =>
  driver.push({ name: 'note', queue: 'default', payload: JSON.stringify({ tag }), scheduledAt: Date.now() - 1000, overlapKey: null });

describe('a corrupt stored payload fails its job with a clear reason, and the worker goes on', () => {
  const cases: [string, () => Promise<{ driver: FullDriver; corrupt(id: string): Promise<void>; done(): Promise<void> }>][] = [
    ['redis (the job record)', async () => {
      const url = await requireRedis();
      const prefix = uniqueName('x');
      const driver = new RedisDriver(url, prefix, new TestClock());
      const raw = new Redis(url);
      return {
        driver,
        corrupt: async (id) => {
          const key = `${prefix}:{default}:j:${id.split('/')[1]!.padStart(12, '0')}`;
          const [header] = (await raw.get(key))!.split('\n');
          await raw.set(key, `${header}\n{"tag": oops`);
        },
        done: async () => {
          raw.disconnect();
          await driver.close();
          await dropRedisPrefix(url, prefix);
        },
      };
    }],
    ['file (the job file)', async () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-corrupt-'));
      const driver = new FileDriver(root, new TestClock());
      return {
        driver,
        corrupt: async (id) => {
          const dir = path.join(root, 'pending', 'default');
          const file = readdirSync(dir).find((f) => f.split('.')[1] === id)!;
          const [header] = readFileSync(path.join(dir, file), 'utf8').split('\n');
          writeFileSync(path.join(dir, file), `${header}\n{"tag": oops`);
        },
        done: async () => {
          await driver.close();
          rmSync(root, { recursive: true, force: true });
        },
      };
    }],
    ['memcached (the job record)', async () => {
      const servers = await requireMemcached();
      const prefix = uniqueName('x');
      const driver = new MemcachedDriver(servers, prefix, new TestClock());
      const raw = new MemcacheClient({ server: servers });
      return {
        driver,
        corrupt: async (id) => {
          const record = JSON.parse((await raw.get<string>(`${prefix}:job:${id}`))!.value);
          await raw.set(`${prefix}:job:${id}`, JSON.stringify({ ...record, payload: '{"tag": oops' }));
        },
        done: async () => {
          raw.shutdown();
          await driver.close();
        },
      };
    }],
  ];
  for (const [label, make] of cases) {
    it(label, async () => {
      const { driver, corrupt, done } = await make();
      try {
        ran.length = 0;
        const bad = await push(driver, 'bad');
        await push(driver, 'good');
        await corrupt(bad.id!);
        await work(driver);
        expect(ran).toEqual(['good']);
        const [failed] = await allFailed(driver);
        expect(failed).toMatchObject({ name: 'note', attempts: 1 });
        expect(failed!.exception).toMatch(/^UnrecoverableError: Corrupt stored payload: /);
      } finally {
        await done();
      }
    });
  }
});

describe('a full disk (file driver on a 512 KiB tmpfs)', () => {
  const mount = mkdtempSync(path.join(os.tmpdir(), 'rakit-full-'));
  afterAll(() => {
    try {
      execFileSync('umount', [mount]);
    } catch {
      // not mounted
    }
    rmSync(mount, { recursive: true, force: true });
  });

  it('refuses new dispatches with a clear error and loses nothing already stored', async () => {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mount]);
    } catch (error) {
      throw new Error(`this test mounts a small tmpfs and needs root (mount -t tmpfs): ${(error as Error).message}`);
    }
    const driver = new FileDriver(path.join(mount, 'jobs'), new TestClock());
    const stored: string[] = [];
    let refusal: unknown = null;
    for (let i = 0; i < 10_000 && !refusal; i++) {
      try {
        await driver.push({ name: 'note', queue: 'default', payload: JSON.stringify({ tag: `t${i}`, pad: 'x'.repeat(2000) }), scheduledAt: Date.now(), overlapKey: null });
        stored.push(`t${i}`);
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toBeInstanceOf(ConnectionError);
    expect((refusal as Error).message).toMatch(/^The disk holding .* is full \(ENOSPC\): nothing was stored — free some space and dispatch again$/);
    // The overlap path refuses cleanly too, and leaves no half-written lock behind.
    await expect(driver.push({ name: 'note', queue: 'default', payload: JSON.stringify({ tag: 'x', pad: 'x'.repeat(2000) }), scheduledAt: Date.now(), overlapKey: 'k' })).rejects.toThrow(/full \(ENOSPC\)/);
    expect(readdirSync(path.join(mount, 'jobs', 'tmp'))).toEqual([]);
    ran.length = 0;
    await work(driver);
    expect(ran.sort()).toEqual(stored.sort());
    expect(stored.length).toBeGreaterThan(10);
    await driver.close();
  });
});

describe('security', () => {
  it('payloads are JSON, never evaluated: __proto__ keys pollute nothing', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-proto-'));
    const driver = new FileDriver(root, new TestClock());
    let seen: unknown = null;
    class Probe extends Jobable {
      async run() {
        seen = this.payload;
      }
    }
    const registry = new Registry(root);
    registry.remember(Probe);
    await driver.push({ name: 'probe', queue: 'default', payload: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}', scheduledAt: 0, overlapKey: null });
    await new Worker({ driver, registry, clock: new TestClock(), logger: pino({ level: 'silent' }), config: resolveConfig({}) },
      { ...DEFAULT_WORKER_OPTIONS, stopWhenEmpty: true }).run();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(seen).toBeTruthy();
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('job files and folders are readable by their owner only', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-perm-'));
    const driver = new FileDriver(path.join(root, 'jobs'), new TestClock());
    await driver.push({ name: 'note', queue: 'default', payload: '{"secret":"s"}', scheduledAt: 0, overlapKey: 'lock-me' });
    const [held] = await driver.reserve({ queues: null, names: null, limit: 1, leases: { byName: {}, defaultMs: 60_000 } });
    await driver.fail(held!, { exception: 'Error: x' });
    await driver.push({ name: 'note', queue: 'default', payload: '{"secret":"s"}', scheduledAt: 0, overlapKey: 'lock-me' });
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? [p, ...walk(p)] : [p];
    });
    const entries = walk(path.join(root, 'jobs'));
    expect(entries.length).toBeGreaterThan(8);
    for (const entry of entries) {
      const mode = statSync(entry).mode & 0o777;
      expect([entry, mode.toString(8)]).toEqual([entry, statSync(entry).isDirectory() ? '700' : '600']);
    }
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('never logs or prints a password from a connection URL', async () => {
    const app = makeApp({ database: PG_URL.replace('postgres@', 'postgres:hunter2-secret@'), sleep_ms: 20 });
    try {
      const run = await app.rakit(['job:runall', '--once', '--in-process']);
      const out = run.stdout + run.stderr;
      expect(out).not.toContain('hunter2-secret');
      expect(out).toContain('Worker started on database (pg postgres@127.0.0.1:5432/');
      const redis = await app.rakit(['job:runall', '--once', '--in-process'], { JOB_DRIVER: 'redis', REDIS_URL: `redis://:hunter2-secret@127.0.0.1:6379/0` });
      expect(redis.stdout + redis.stderr).not.toContain('hunter2-secret');
      expect(logLines(redis.stderr).length + redis.stderr.length).toBeGreaterThan(0);
    } finally {
      app.remove();
    }
  });
});

