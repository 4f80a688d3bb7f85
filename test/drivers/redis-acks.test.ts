/**
 * On Redis a worker's acks ride on its next claim (one script for both): every job still runs
 * once and is acked once, and an ack the claim cannot carry is sent on its own.
 */
import os from 'node:os';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/infra/config.ts';
import type { ReservedJob } from '../../src/store/driver.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { Registry } from '../../src/api/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import { DEFAULT_WORKER_OPTIONS } from '../../src/worker/worker-options.ts';
import { TestClock } from '../helpers/clock.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';

const ran: string[] = [];
let pusher: RedisDriver | null = null;

class Note extends Jobable {
  async run() {
    ran.push(this.id);
  }
}
/** Dispatches a Note to the high queue while it runs. */
class Spawner extends Jobable {
  async run() {
    ran.push(this.id);
    await pusher!.push({ name: 'note', queue: 'high', payload: '{}', scheduledAt: Date.now(), overlapKey: null });
  }
}

/** A Redis driver whose ack calls are counted: those carried by claims and those sent alone. */
async function countedDriver() {
  const url = await requireRedis();
  const prefix = uniqueName('acks');
  const driver = new RedisDriver(url, prefix, new TestClock());
  const counts = { carried: [] as (boolean | undefined)[], alone: [] as ReservedJob[] };
  const reserveAfterAcks = driver.reserveAfterAcks.bind(driver);
  driver.reserveAfterAcks = async (acks, request) => {
    const result = await reserveAfterAcks(acks, request);
    counts.carried.push(...result.held);
    return result;
  };
  const ackMany = driver.ackMany.bind(driver);
  driver.ackMany = async (jobs) => {
    counts.alone.push(...jobs);
    return ackMany(jobs);
  };
  pusher = new RedisDriver(url, prefix, new TestClock());
  return { driver, counts, drop: async () => {
    await driver.close();
    await pusher?.close();
    await dropRedisPrefix(url, prefix);
  } };
}

function work(driver: RedisDriver) {
  const registry = new Registry(os.tmpdir());
  registry.remember(Note);
  registry.remember(Spawner);
  return new Worker(
    { driver, registry, clock: new TestClock(), logger: pino({ level: 'silent' }), config: resolveConfig({}) },
    { ...DEFAULT_WORKER_OPTIONS, queues: ['high', 'low'], concurrency: 1, stopWhenEmpty: true, sleepMs: 20 },
  ).run();
}

const push = (driver: RedisDriver, name: string, queue: string) =>
  driver.push({ name, queue, payload: '{}', scheduledAt: Date.now(), overlapKey: null });

let drop: (() => Promise<void>) | null = null;
afterEach(async () => {
  ran.length = 0;
  await drop?.();
  drop = null;
});

describe('redis: acks ride on the next claim', () => {
  it('at concurrency 1, carries every ack on a claim: each job runs once, and none is left held', async () => {
    const made = await countedDriver();
    drop = made.drop;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await push(made.driver, 'note', 'high')).id!, (await push(made.driver, 'note', 'low')).id!);
    const summary = await work(made.driver);
    expect(summary).toMatchObject({ reason: 'empty', done: 20, failed: 0 });
    expect([...ran].sort()).toEqual([...ids].sort());
    expect(made.counts.carried).toEqual(new Array(20).fill(true));
    expect(made.counts.alone).toEqual([]);
    expect(await made.driver.stats()).toEqual([]);
  });

  it('sends an ack on its own when the claim does not reach its queue', async () => {
    const made = await countedDriver();
    drop = made.drop;
    const low = await push(made.driver, 'spawner', 'low');
    const summary = await work(made.driver);
    // The low job's ack: the next claim was filled from the high queue and never reached low.
    expect(summary).toMatchObject({ reason: 'empty', done: 2, failed: 0 });
    expect(ran).toHaveLength(2);
    expect(ran[0]).toBe(low.id);
    expect(made.counts.alone.map((j) => j.id)).toEqual([low.id]);
    expect(made.counts.carried).toEqual([undefined, true]);
    expect(await made.driver.stats()).toEqual([]);
  });
});
