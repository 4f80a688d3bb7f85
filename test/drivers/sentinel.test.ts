/**
 * A real Sentinel failover: master, replica and one sentinel on loopback ports. The master is
 * killed; Sentinel promotes the replica; the worker (connected through Sentinel) follows by itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/infra/config.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { Registry } from '../../src/api/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { DEFAULT_WORKER_OPTIONS } from '../../src/worker/worker-options.ts';
import { TestClock, until } from '../helpers/clock.ts';

const ran: number[] = [];
class Tick extends Jobable<{ n: number }> {
  async run() {
    ran.push(this.get('n'));
  }
}

const base = 6500 + Math.floor(Math.random() * 200) * 3;
const [MASTER, REPLICA, SENTINEL] = [base, base + 1, base + 2];
const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-sentinel-'));
const cli = (port: number, ...args: string[]) => {
  try {
    return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describe('redis through Sentinel', () => {
  afterAll(() => {
    for (const port of [MASTER, REPLICA, SENTINEL]) cli(port, 'shutdown', 'nosave');
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps working across a failover to the replica', async () => {
    const common = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--dir', dir];
    try {
      execFileSync('redis-server', ['--port', String(MASTER), ...common, '--logfile', path.join(dir, 'm.log')]);
      execFileSync('redis-server', ['--port', String(REPLICA), '--replicaof', '127.0.0.1', String(MASTER), ...common, '--logfile', path.join(dir, 'r.log')]);
      writeFileSync(path.join(dir, 'sentinel.conf'), [
        `port ${SENTINEL}`, 'bind 127.0.0.1', `dir ${dir}`, 'daemonize yes', `logfile ${path.join(dir, 's.log')}`,
        `sentinel monitor mymaster 127.0.0.1 ${MASTER} 1`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 4000',
      ].join('\n'));
      execFileSync('redis-server', [path.join(dir, 'sentinel.conf'), '--sentinel']);
    } catch (error) {
      throw new Error(`could not start redis-server for the Sentinel test (${(error as Error).message}): install Debian's redis-server`);
    }
    await until(() => cli(REPLICA, 'info', 'replication').includes('master_link_status:up'), 10_000);
    await until(() => cli(SENTINEL, 'sentinel', 'get-master-addr-by-name', 'mymaster').includes(String(MASTER)), 10_000);

    const setting = { sentinels: [{ host: '127.0.0.1', port: SENTINEL }], name: 'mymaster' };
    const driver = new RedisDriver(setting, 's', new TestClock());
    const pusher = new RedisDriver(setting, 's', new TestClock());
    const registry = new Registry(dir);
    registry.remember(Tick);
    const worker = new Worker(
      { driver, registry, clock: new TestClock(), logger: pino({ level: 'silent' }), config: resolveConfig({}) },
      { ...DEFAULT_WORKER_OPTIONS, sleepMs: 200 },
    );
    const run = worker.run();
    try {
      await pusher.push({ name: 'tick', queue: 'default', payload: '{"n":1}', scheduledAt: Date.now(), overlapKey: null });
      await until(() => ran.includes(1), 5000);

      cli(MASTER, 'shutdown', 'nosave');
      const killed = Date.now();
      await until(() => cli(SENTINEL, 'sentinel', 'get-master-addr-by-name', 'mymaster').includes(String(REPLICA)), 20_000);
      const promoted = Date.now();
      // Dispatch through Sentinel too: the pusher finds the new master by itself.
      for (let i = 0; ; i++) {
        try {
          await pusher.push({ name: 'tick', queue: 'default', payload: '{"n":2}', scheduledAt: Date.now(), overlapKey: null });
          break;
        } catch (error) {
          if (i % 10 === 0) console.log(`push after failover failed (try ${i}): ${(error as Error).message}`);
          if (i > 50) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await until(() => ran.includes(2), 10_000);
      console.log(`failover: promoted ${promoted - killed} ms after the master died; the job dispatched after it ran ${Date.now() - promoted} ms after the promotion`);
      expect(Date.now() - promoted).toBeLessThan(10_000);
    } finally {
      worker.stop();
      await run;
      await driver.close();
      await pusher.close();
    }
  }, 60_000);
});
