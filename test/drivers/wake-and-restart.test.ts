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
import type { FullDriver, WakingQueue } from '../../src/store/driver.ts';
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

/** What the worker's idle waits on the driver have been: how many began, and whether one is under way. */
interface IdleWaits {
  begun: number;
  waiting: boolean;
}

function startWorker(driver: FullDriver, sleepMs: number) {
  const registry = new Registry(os.tmpdir());
  registry.remember(Ping);
  const clock = new TestClock();
  const idle: IdleWaits = { begun: 0, waiting: false };
  // The driver as the worker sees it, its idle waits counted.
  const watched = new Proxy(driver, {
    get(target, key) {
      if (key === 'waitForJob') {
        return (...args: Parameters<WakingQueue['waitForJob']>) => {
          idle.begun++;
          idle.waiting = true;
          return target.waitForJob!(...args).finally(() => (idle.waiting = false));
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const worker = new Worker(
    { driver: watched, registry, clock, logger: pino({ level: 'silent' }), config: resolveConfig({}) },
    { ...DEFAULT_WORKER_OPTIONS, sleepMs },
  );
  return { worker, run: worker.run(), idle };
}

const push = (driver: FullDriver) =>
  driver.push({ name: 'ping', queue: 'default', payload: '{}', scheduledAt: Date.now(), overlapKey: null });

/** Dispatches while the worker idles and returns how long it took the job to start, in ms. */
async function wakeLatency(idle: IdleWaits, pusher: FullDriver): Promise<number[]> {
  const latencies: number[] = [];
  // The worker's first wait only subscribes (or starts watching) and returns: the first real one is the second.
  let waitsBefore = 1;
  for (let i = 0; i < 5; i++) {
    // Dispatch once the worker is in an idle wait begun after the last dispatch.
    await until(() => idle.waiting && idle.begun > waitsBefore, { timeoutMs: 4000, what: 'the worker to settle into its idle wait' });
    waitsBefore = idle.begun;
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
    const { worker, run, idle } = startWorker(driver, 10_000);
    try {
      const latencies = await wakeLatency(idle, pusher);
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
    const { worker, run, idle } = startWorker(driver, 10_000);
    try {
      const latencies = await wakeLatency(idle, pusher);
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
  const url = `redis://127.0.0.1:${port}/0`;
  /** redis-server --daemonize returns before the server listens. */
  const answering = () => until(() => requireRedis(url).then(() => true, () => false), { timeoutMs: 5000, everyMs: 50, what: `the redis-server on port ${port} to answer` });
  /** The worker's wake-up subscription is in place on the server. */
  const subscribed = () => {
    const ask = (...args: string[]) => execFileSync('redis-cli', ['-p', String(port), 'pubsub', ...args], { encoding: 'utf8' }).trim();
    return Number(ask('numpat')) > 0 || ask('channels') !== '';
  };
  afterAll(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the worker, its wake-up subscription included, comes back by itself after Redis restarts', async () => {
    start();
    await answering();
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
      // An outage, not a blip: 1.5 s down (wall time) while the worker's connections fail and retry.
      await new Promise((r) => setTimeout(r, 1500));
      start();
      const restarted = Date.now();
      await answering();
      // ioredis reconnects and subscribes again by itself: dispatch once it has.
      await until(subscribed, { timeoutMs: 5000, everyMs: 50, what: 'the worker to subscribe again after the restart' });
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
