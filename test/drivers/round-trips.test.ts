/**
 * Round trips to the store per job, for a worker working off no-op jobs: the commands its Redis
 * connection sends, the queries its MariaDB and PostgreSQL connections send (several statements
 * sent at once are one), and on SQLite, which runs in the process, the times a connection is taken
 * to run statements (statements run at once in one transaction are one). At concurrency 1 a job
 * costs one (the ack of one and the claim of the next in one script, statement or transaction;
 * two on MariaDB, whose claim is a transaction of two round trips); at concurrency 50 a fraction
 * of one. Counted are the round trips about jobs (scripts on Redis, statements on the jobs table):
 * the reads a worker makes once a second (paused queues, the restart mark) are not per job, and
 * weigh more the slower a loaded machine runs the jobs.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/infra/clock.ts';
import { resolveConfig } from '../../src/infra/config.ts';
import { RedisDriver } from '../../src/drivers/redis/redis.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { Registry } from '../../src/api/registry.ts';
import { Worker } from '../../src/worker/worker.ts';
import type { WorkerDeps } from '../../src/worker/worker-hooks.ts';
import { DEFAULT_WORKER_OPTIONS } from '../../src/worker/worker-options.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { dropRedisPrefix, requireRedis, uniqueName, type DatabaseKind } from '../helpers/servers.ts';

class Nothing extends Jobable {
  run(): void {}
}

const JOBS = 200;
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** A store's driver, and what it has sent so far: one entry per round trip. */
interface Counted {
  driver: WorkerDeps['driver'];
  sent: string[];
  /** Whether a round trip was about jobs (a claim or an ack). */
  aboutJobs(sent: string): boolean;
}

async function redisStore(): Promise<Counted> {
  const url = await requireRedis();
  const prefix = uniqueName('trips');
  const driver = new RedisDriver(url, prefix, systemClock);
  cleanups.push(async () => {
    await driver.close();
    await dropRedisPrefix(url, prefix);
  });
  const client = (driver as unknown as { redis: { sendCommand(command: { name: string }): unknown } }).redis;
  const send = client.sendCommand.bind(client);
  const sent: string[] = [];
  client.sendCommand = (command) => {
    sent.push(command.name);
    return send(command);
  };
  return { driver, sent, aboutJobs: (command) => command === 'evalsha' };
}

const COUNTED = Symbol('counted');
const databases = new Map<DatabaseKind, TestDatabase>();
async function sqlStore(kind: DatabaseKind): Promise<Counted> {
  let db = databases.get(kind);
  if (!db) {
    db = await createTestDatabase(kind);
    databases.set(kind, db);
    cleanups.push(db.drop);
  }
  const driver = db.driver(systemClock);
  const sent: string[] = [];
  const client = driver.knex.client as { acquireConnection(): Promise<Record<string | symbol, unknown>> };
  const acquire = client.acquireConnection.bind(client);
  client.acquireConnection = async () => {
    const connection = await acquire();
    // SQLite: the statements run on one taking of the connection are one round trip, named by its first.
    if (kind === 'sqlite') sent.push('');
    if (!connection[COUNTED]) {
      connection[COUNTED] = true;
      const method = kind === 'sqlite' ? 'prepare' : 'query';
      const send = (connection[method] as (...args: unknown[]) => unknown).bind(connection);
      connection[method] = (...args: unknown[]) => {
        const [sql] = args as [string | { sql?: string; text?: string }];
        const text = typeof sql === 'string' ? sql : (sql.sql ?? sql.text ?? '?');
        if (kind !== 'sqlite') sent.push(text);
        else if (sent[sent.length - 1] === '') sent[sent.length - 1] = text;
        return send(...args);
      };
    }
    return connection;
  };
  const table = new RegExp(`[\`"]${db.table}[\`"]`);
  return { driver, sent, aboutJobs: (sql) => table.test(sql) };
}

/** Round trips about jobs, per job, while one worker works off JOBS no-op jobs at `concurrency`; all of them on the console. */
async function tripsPerJob(label: string, store: Counted, concurrency: number): Promise<number> {
  const { driver } = store;
  const now = Date.now();
  await (driver as unknown as { pushMany(jobs: object[]): Promise<unknown> }).pushMany(Array.from({ length: JOBS }, () => ({
    name: Nothing.nameOfJob, queue: 'default', payload: '{}', scheduledAt: now, overlapKey: null,
  })));
  const registry = new Registry(process.cwd());
  registry.remember(Nothing);
  const worker = new Worker(
    { driver, registry, clock: systemClock, logger: pino({ level: 'silent' }), config: resolveConfig({ metrics: false }) },
    { ...DEFAULT_WORKER_OPTIONS, queues: ['default'], concurrency, stopWhenEmpty: true, sleepMs: 50 },
  );
  // The worker's start (its first reads) is not per job: count from its first claim.
  const before = store.sent.length;
  const summary = await worker.run();
  expect(summary).toMatchObject({ reason: 'empty', done: JOBS, failed: 0 });
  const sent = store.sent.slice(before);
  const trips = sent.filter((s) => store.aboutJobs(s)).length / JOBS;
  console.log(`${label} c=${concurrency}: ${trips.toFixed(3)} round trips about jobs per job (${(sent.length / JOBS).toFixed(3)} in all)`);
  return trips;
}

const STORES: [string, () => Promise<Counted>][] = [
  ['redis', redisStore],
  ['sqlite', () => sqlStore('sqlite')],
  ['mysql', () => sqlStore('mysql')],
  ['pg', () => sqlStore('pg')],
];

describe.each(STORES)('round trips per job: %s', (label, open) => {
  it('at concurrency 1: one (two on MariaDB), the ack riding on the next claim', async () => {
    const store = await open();
    const trips = await tripsPerJob(label, store, 1);
    // A run's first claim and last ack go alone, and a MariaDB claim looks from the start once a second.
    expect(trips, store.sent.slice(-12).join('\n')).toBeLessThanOrEqual((label === 'mysql' ? 2 : 1) + 20 / JOBS);
  });

  it('at concurrency 50: a fraction of one', async () => {
    const store = await open();
    const trips = await tripsPerJob(label, store, 50);
    expect(trips, store.sent.slice(-12).join('\n')).toBeLessThanOrEqual(0.02 + 20 / JOBS);
  });

  it('for 100 dispatches made at once: those made while others are written go out together', async () => {
    const store = await open();
    const before = store.sent.length;
    const pushed = await Promise.all(Array.from({ length: 100 }, (_, i) => store.driver.push({
      name: Nothing.nameOfJob, queue: 'default', payload: `{"i":${i}}`, scheduledAt: Date.now(), overlapKey: null,
    })));
    expect(new Set(pushed.map((p) => p.id)).size).toBe(100);
    const trips = store.sent.slice(before).filter((s) => store.aboutJobs(s));
    console.log(`${label}: ${trips.length} round trips about jobs for 100 dispatches at once`);
    // The first 16 on Redis, two on a database, go alone; the rest in one.
    expect(trips.length, trips.join('\n')).toBeLessThanOrEqual(label === 'redis' ? 17 : 3);
  });
});
