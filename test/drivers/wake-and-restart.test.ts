/**
 * What only some drivers can do: wake an idle worker the moment a job arrives (Redis pub/sub,
 * the file driver's watcher), and come back by themselves after Redis restarts.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/infra/config.ts';
import type { FullDriver } from '../../src/store/driver.ts';
import { FileDriver } from '../../src/drivers/file/file.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { Registry } from '../../src/api/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { DEFAULT_WORKER_OPTIONS } from '../../src/worker/worker-options.ts';
import { TestClock, until } from '../helpers/clock.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

const done: { id: string; at: number }[] = [];
class Ping extends Jobable {
  async run() {
    done.push({ id: this.id, at: Date.now() });
  }
}

function startWorker(driver: FullDriver, sleepMs: number) {
  const registry = new Registry(os.tmpdir());
  registry.remember(Ping);
  const clock = new TestClock();
  const worker = new Worker(
    { driver, registry, clock, logger: pino({ level: 'silent' }), config: resolveConfig({}) },
    { ...DEFAULT_WORKER_OPTIONS, sleepMs },
  );
  return { worker, run: worker.run() };
}

const push = (driver: FullDriver) =>
  driver.push({ name: 'ping', queue: 'default', payload: '{}', scheduledAt: Date.now(), overlapKey: null });

/** Dispatches while the worker idles and returns how long it took the job to start, in ms. */
async function wakeLatency(driver: FullDriver, pusher: FullDriver): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 150)); // let the worker settle into its idle wait
    const before = done.length;
    const sent = Date.now();
    await push(pusher);
    await until(() => done.length > before, 4000);
    latencies.push(done.at(-1)!.at - sent);
  }
  return latencies;
}

describe('idle workers wake on a dispatch instead of sleeping out --sleep', () => {
  it('redis: within milliseconds (pub/sub), with --sleep=10000', async () => {
    const url = await requireRedis();
    const prefix = uniqueName('w');
    const driver = new RedisDriver(url, prefix, new TestClock());
    const pusher = new RedisDriver(url, prefix, new TestClock());
    const { worker, run } = startWorker(driver, 10_000);
    try {
      const latencies = await wakeLatency(driver, pusher);
      console.log(`redis wake latency (ms): ${latencies.join(', ')}`);
      expect(Math.max(...latencies)).toBeLessThan(100);
    } finally {
      worker.stop();
      await run;
      await driver.close();
      await pusher.close();
      await dropRedisPrefix(url, prefix);
    }
  });

  it('file: on the new file (chokidar), with --sleep=10000', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'rakit-wake-'));
    const driver = new FileDriver(root, new TestClock());
    const pusher = new FileDriver(root, new TestClock());
    const { worker, run } = startWorker(driver, 10_000);
    try {
      const latencies = await wakeLatency(driver, pusher);
      console.log(`file wake latency (ms): ${latencies.join(', ')}`);
      expect(Math.max(...latencies)).toBeLessThan(500);
    } finally {
      worker.stop();
      await run;
      await driver.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('redis restarts', () => {
  const port = 6390 + Math.floor(Math.random() * 50);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-redis-'));
  const start = () => {
    execFileSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--dir', dir, '--logfile', path.join(dir, 'log')]);
  };
  const stop = () => {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' });
    } catch {
      // already down
    }
  };
  afterAll(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker, its wake-up subscription included, comes back by itself after Redis restarts', async () => {
    start();
    const url = await requireRedis(`redis://127.0.0.1:${port}/0`).catch(async () => {
      await new Promise((r) => setTimeout(r, 500));
      return requireRedis(`redis://127.0.0.1:${port}/0`);
    });
    const driver = new RedisDriver(url, 'r', new TestClock());
    // --sleep=20000: only the re-made subscription can wake the worker in time.
    const { worker, run } = startWorker(driver, 20_000);
    try {
      const before = done.length;
      const pusher1 = new RedisDriver(url, 'r', new TestClock());
      await push(pusher1);
      await until(() => done.length === before + 1, 5000).catch((e) => {
        throw new Error(`the job before the restart did not run: ${(e as Error).message}`);
      });
      await pusher1.close();

      stop();
      await new Promise((r) => setTimeout(r, 1500)); // the worker's connections fail and retry
      start();
      const restarted = Date.now();
      await requireRedis(url).catch(async () => {
        await new Promise((r) => setTimeout(r, 500));
        return requireRedis(url);
      });
      // Give ioredis its reconnect and re-subscribe, then dispatch once.
      await new Promise((r) => setTimeout(r, 1500));
      const pusher2 = new RedisDriver(url, 'r', new TestClock());
      await push(pusher2);
      await until(() => done.length === before + 2, 5000).catch((e) => {
        throw new Error(`the job after the restart did not run within 5 s: ${(e as Error).message}`);
      });
      console.log(`job after restart ran ${done.at(-1)!.at - restarted} ms after Redis came back`);
      expect(done.at(-1)!.at - restarted).toBeLessThan(5000);
      await pusher2.close();
    } finally {
      worker.stop();
      await run;
      await driver.close();
    }
  });
});

// Spawned only to prove the binary exists; a missing redis-server fails here with a clear message.
void spawn;
